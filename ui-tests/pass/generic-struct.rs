// `#[coroutine_scope]` on a generic struct with bounds and a where clause.
use std::collections::HashMap;
use std::hash::Hash;
use scopes::prelude::*;
use scopes::coroutine_scope;

#[coroutine_scope(context = Job::supervisor())]
struct Cache<K: Hash + Eq + Send + 'static, V>
where
    V: Clone + Send + 'static,
{
    #[scope]
    scope: Scope,
    entries: HashMap<K, V>,
}

impl<K: Hash + Eq + Send + 'static, V: Clone + Send + 'static> Cache<K, V> {
    fn refresh(&self, key: K, value: V) -> Coroutine {
        self.launch(async move { drop((key, value)) })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cache: Cache<String, u32> = Cache { scope: Cache::<String, u32>::new_scope(), entries: HashMap::new() };
    cache.refresh("a".into(), 1).join().await;
    assert!(cache.entries.is_empty());
    assert!(cache.job().is_supervisor());
}
