// `parent = expr`: `start_under` instead of `start`, with the expression as written.
use langfuse::observe;

#[observe(parent = traceparent)]
fn handle(traceparent: Option<&str>, body: String) -> usize {
    body.len()
}

#[observe(parent = request.header("traceparent"), capture_input = false)]
async fn serve(request: Request) -> Response {
    route(request).await
}
