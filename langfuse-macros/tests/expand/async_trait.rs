// What `#[async_trait]` makes of `async fn lookup(&self, key: String) -> Option<Value>` and
// `async fn evict(&self, key: String)`: the observation starts when the method is called and
// follows the boxed future.
use langfuse::observe;

#[async_trait::async_trait]
impl Store for Redis {
    #[observe]
    fn lookup<'life0, 'async_trait>(
        &'life0 self,
        key: String,
    ) -> Pin<Box<dyn Future<Output = Option<Value>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let __self = self;
            let key = key;
            let __ret: Option<Value> = { __self.get(&key).await };
            #[allow(unreachable_code)]
            __ret
        })
    }

    #[observe]
    fn evict<'life0, 'async_trait>(
        &'life0 self,
        key: String,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let __self = self;
            let key = key;
            let _: () = { __self.delete(&key).await; };
        })
    }
}
