use langfuse::observe;

struct Store;

impl Store {
    #[observe(skip(self))]
    fn get(&self, key: u32) -> u32 {
        key
    }
}

fn main() {
    Store.get(1);
}
