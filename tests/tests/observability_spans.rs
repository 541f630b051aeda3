//! Issue 14: a `tracing` span per coroutine, whose parent is its parent coroutine's span.

#![cfg(feature = "tracing")]

use scopes::prelude::*;
use scopes_tests::capture::Captured;
use tokio::sync::oneshot;
use tracing::Level;

/// A grandchild's span is a child of its parent coroutine's span, whether it was launched
/// inside another (user) span in the parent's body or from outside any coroutine, in a span of
/// the caller's; a user span inside a body nests under the coroutine's span.
#[tokio::test(flavor = "current_thread")]
async fn a_grandchilds_span_is_a_child_of_its_parent_coroutines_span() {
    let (captured, _guard) = Captured::install();
    let scope = Scope::new(());
    let (handle_tx, handle_rx) = oneshot::channel::<ScopeHandle>();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let outer = tracing::info_span!("launcher");
    let parent = outer.in_scope(|| {
        scope.coroutine().name("parent").launch(async move {
            current_scope()
                .coroutine()
                .name("child")
                .launch(async move {
                    // From inside an unrelated span of the child's own body.
                    let unrelated = tracing::info_span!("unrelated");
                    unrelated.in_scope(|| {
                        current_scope()
                            .coroutine()
                            .name("grandchild-inside")
                            .launch(async {
                                tracing::info_span!("user").in_scope(|| tracing::info!("inside"));
                            })
                    });
                    handle_tx.send(current_scope()).unwrap();
                    release_rx.await.unwrap();
                });
        })
    });
    let child_scope = handle_rx.await.unwrap();
    // From outside any coroutine, inside a span of the caller's.
    let caller = tracing::info_span!("caller");
    let outside = caller.in_scope(|| {
        child_scope
            .coroutine()
            .name("grandchild-outside")
            .launch(async {})
    });
    outside.join().await;
    release_tx.send(()).unwrap();
    parent.join().await;

    let parent_span = captured.coroutine("parent");
    let child = captured.coroutine("child");
    assert_eq!(child.parent, Some(parent_span.id), "child under parent");
    for name in ["grandchild-inside", "grandchild-outside"] {
        let grandchild = captured.coroutine(name);
        assert_eq!(grandchild.parent, Some(child.id), "{name} under child");
        assert_eq!(grandchild.fields["kind"], "launch");
        assert!(
            grandchild.follows.is_empty(),
            "{name} has a coroutine parent"
        );
    }
    // The root coroutine has no coroutine above it: a root span that follows from its launcher.
    let launcher = captured
        .spans()
        .into_iter()
        .find(|s| s.name == "launcher")
        .unwrap();
    assert_eq!(parent_span.parent, None);
    assert_eq!(parent_span.follows, vec![launcher.id]);
    // A user span in a body nests under the coroutine's span; its event under the user span.
    let user = captured
        .spans()
        .into_iter()
        .find(|s| s.name == "user")
        .unwrap();
    assert_eq!(
        user.parent,
        Some(captured.coroutine("grandchild-inside").id)
    );
    let inside: Vec<_> = captured
        .at(Level::INFO)
        .into_iter()
        .filter(|e| e.message() == "inside")
        .collect();
    assert_eq!(inside.len(), 1);
    assert_eq!(inside[0].span, Some(user.id));
}

/// The span's fields: the coroutine's id (the dump's), its kind and its dispatcher; a coroutine
/// without a name is named after its kind. `async_` and scope builders have spans too, and a
/// scope's children are under the scope's span.
#[tokio::test(flavor = "current_thread")]
async fn spans_name_the_coroutine_its_id_kind_and_dispatcher() {
    let (captured, _guard) = Captured::install();
    let scope = Scope::new(Dispatchers::unconfined());
    let (tx, rx) = oneshot::channel::<String>();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let deferred = scope.async_(async move {
        coroutine_scope(|s| async move {
            s.coroutine().name("in-scope").launch(async move {
                tx.send(current_job_dump()).unwrap();
                release_rx.await.unwrap();
            });
            Ok::<_, CoroutineError>(())
        })
        .await
    });
    let dump = rx.await.unwrap();
    release_tx.send(()).unwrap();
    deferred.await.unwrap();

    let spans = captured.spans();
    let outer = spans
        .iter()
        .find(|s| s.fields.get("kind").map(String::as_str) == Some("async_"))
        .expect("the async_'s span");
    assert_eq!(outer.fields["name"], "async_");
    assert_eq!(outer.fields["dispatcher"], "Dispatchers.Unconfined");
    let id = &outer.fields["id"];
    assert!(dump.contains(&format!("#{id} DeferredCoroutine")), "{dump}");
    let scoped = spans
        .iter()
        .find(|s| s.fields.get("kind").map(String::as_str) == Some("scope"))
        .expect("the coroutine_scope's span");
    assert_eq!(scoped.parent, Some(outer.id));
    assert_eq!(scoped.fields["id"], *id, "a scope shares its caller's id");
    assert_eq!(captured.coroutine("in-scope").parent, Some(scoped.id));
}

/// The dump of the job tree from the running coroutine's root.
fn current_job_dump() -> String {
    let mut job = current_context().job().unwrap().clone();
    while let Some(parent) = job.parent() {
        job = parent;
    }
    job.dump()
}

/// A coroutine's span is entered on every poll and on the drop of its body: an event in the
/// destructor of what the body holds is in the coroutine's span.
#[tokio::test(flavor = "current_thread")]
async fn the_span_is_entered_when_the_body_is_dropped() {
    struct Noisy;
    impl Drop for Noisy {
        fn drop(&mut self) {
            tracing::info!("dropped");
        }
    }
    let (captured, _guard) = Captured::install();
    let scope = Scope::new(());
    let parked = scope.coroutine().name("parked").launch(async {
        let _noisy = Noisy;
        std::future::pending::<()>().await;
    });
    yield_now().await;
    parked.cancel_and_join().await;
    let dropped: Vec<_> = captured
        .at(Level::INFO)
        .into_iter()
        .filter(|e| e.message() == "dropped")
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].span, Some(captured.coroutine("parked").id));
}
