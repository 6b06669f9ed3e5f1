// An async function and an async method: the body runs inside the observation's future.
use langfuse::observe;

#[observe(as_type = "retriever")]
async fn retrieve(query: String, limit: usize) -> Result<Vec<String>, Error> {
    let documents = search(&query).await?;
    Ok(documents.into_iter().take(limit).collect())
}

impl Agent {
    #[observe(as_type = "agent", capture_input = false)]
    async fn run(&self, task: Task) {
        self.plan(task).await;
    }
}
