//! Thread-local context elements: set for every poll on any thread, restored after, inherited,
//! overridable, composable.

use std::cell::{Cell, RefCell};

use scopes::prelude::*;
use scopes::{Dispatchers, thread_local_element};

thread_local! {
    static USER: RefCell<Option<String>> = const { RefCell::new(None) };
    static TENANT: RefCell<Option<String>> = const { RefCell::new(None) };
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

fn user() -> Option<String> {
    USER.with(|u| u.borrow().clone())
}
fn tenant() -> Option<String> {
    TENANT.with(|t| t.borrow().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_value_follows_the_coroutine_across_hops_and_is_restored_after_each_poll() {
    let scope = Scope::new(thread_local_element(&USER, Some("ada".to_string())));
    let seen = scope.async_(async {
        let mut seen = vec![user()];
        for _ in 0..10 {
            yield_now().await; // may resume on another worker
            seen.push(user());
        }
        seen.push(
            with_context(Dispatchers::io(), async { user() })
                .await
                .unwrap(),
        );
        seen.push(
            with_context(Dispatchers::default(), async { user() })
                .await
                .unwrap(),
        );
        seen.push(user());
        seen
    });
    let seen = seen.await.unwrap();
    assert!(seen.iter().all(|u| u.as_deref() == Some("ada")), "{seen:?}");
    assert_eq!(user(), None, "this thread's value is untouched");
}

#[tokio::test(flavor = "current_thread")]
async fn children_inherit_and_with_context_overrides_then_restores() {
    let scope = Scope::new(thread_local_element(&USER, Some("parent".to_string())));
    let seen = scope.async_(async {
        let child = current_scope().async_(async { user() });
        let inner = with_context(
            thread_local_element(&USER, Some("override".to_string())),
            async {
                yield_now().await;
                user()
            },
        )
        .await
        .unwrap();
        Ok::<_, CoroutineError>((child.await?, inner, user()))
    });
    let (child, inner, after) = seen.await.unwrap();
    assert_eq!(child.as_deref(), Some("parent"));
    assert_eq!(inner.as_deref(), Some("override"));
    assert_eq!(
        after.as_deref(),
        Some("parent"),
        "restored when the poll left the override"
    );
    assert_eq!(user(), None);
}

#[tokio::test(flavor = "current_thread")]
async fn several_thread_locals_compose_even_of_one_type() {
    let ctx = thread_local_element(&USER, Some("ada".to_string()))
        + thread_local_element(&TENANT, Some("acme".to_string()))
        + thread_local_element(&DEPTH, 3);
    assert_eq!(
        ctx.len(),
        3,
        "two RefCell<Option<String>> thread-locals are two keys"
    );
    let scope = Scope::new(ctx);
    let seen = scope.async_(async { (user(), tenant(), DEPTH.with(Cell::get)) });
    assert_eq!(
        seen.await.unwrap(),
        (Some("ada".into()), Some("acme".into()), 3)
    );
    assert_eq!((user(), tenant(), DEPTH.with(Cell::get)), (None, None, 0));
}

#[tokio::test(flavor = "current_thread")]
async fn a_value_set_by_the_body_is_undone_after_the_poll() {
    // The element restores what was there before the poll, so writes inside do not leak out.
    let scope = Scope::new(thread_local_element(&DEPTH, 1));
    let d = scope.async_(async {
        DEPTH.with(|d| d.set(99));
        yield_now().await;
        DEPTH.with(Cell::get)
    });
    assert_eq!(
        d.await.unwrap(),
        1,
        "each poll starts from the element's value"
    );
    assert_eq!(DEPTH.with(Cell::get), 0);
}
