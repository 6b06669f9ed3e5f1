use langfuse::observe;

trait Store {
    #[observe]
    fn get(&self, key: u32) -> u32;
}

fn main() {}
