// The scope field found by its type through a path, or marked when its type is renamed; the
// macros used through paths and renamed imports.
use scopes::Scope as OwnedScope;
use scopes::launch as start;

#[scopes::coroutine_scope]
struct ByPath {
    scope: scopes::Scope,
}

#[scopes::coroutine_scope]
struct Renamed {
    #[scope]
    owned: OwnedScope,
    other: Option<scopes::ScopeHandle>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    use scopes::CoroutineScope;
    let a = ByPath { scope: ByPath::new_scope() };
    let b = Renamed { owned: Renamed::new_scope(), other: None };
    start!(a, { }).join().await;
    start!(b.owned, scopes::CoroutineName::new("renamed") => { }).join().await;
    assert!(b.other.is_none() && a.is_active());
}
