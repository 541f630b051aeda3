//! `CoroutineContext`: `+` where the right side wins, `get`, `minus`, iteration, Kotlin-style
//! `Debug`, user elements, inheritance by children.

use scopes::prelude::*;
use scopes::{ContextElement, CoroutineId, context_element};

#[derive(Debug, Clone, PartialEq)]
struct RequestId(u64);
context_element!(RequestId);

#[derive(Debug, Clone, PartialEq)]
struct Tenant(&'static str);
context_element!(Tenant);

#[test]
fn plus_keeps_one_element_per_key_and_the_right_side_wins() {
    let ctx = CoroutineName::new("a") + RequestId(1) + CoroutineName::new("b");
    assert_eq!(ctx.len(), 2);
    assert_eq!(ctx.get::<CoroutineName>().unwrap().as_str(), "b");
    assert_eq!(ctx.get::<RequestId>(), Some(&RequestId(1)));
    assert_eq!(
        format!("{ctx:?}"),
        "[RequestId(1), CoroutineName(b)]",
        "a replaced key moves to the end"
    );
}

#[test]
fn a_job_is_one_key_whatever_its_flavour() {
    let ctx = Job::new() + CoroutineName::new("x") + Job::supervisor();
    assert_eq!(ctx.len(), 2);
    assert!(ctx.get::<Job>().unwrap().is_supervisor());
    assert_eq!(
        format!("{ctx:?}"),
        "[CoroutineName(x), SupervisorJob{Active}]"
    );
}

#[test]
fn minus_removes_one_key() {
    let ctx = CoroutineName::new("x") + RequestId(2) + Job::new();
    let without_name = ctx.minus::<CoroutineName>();
    assert!(without_name.get::<CoroutineName>().is_none());
    assert_eq!(without_name.get::<RequestId>(), Some(&RequestId(2)));
    assert!(without_name.job().is_some());
    let without_job = ctx.minus::<Job>();
    assert!(without_job.job().is_none() && without_job.len() == 2);
    assert_eq!(ctx.len(), 3, "contexts are immutable");
    assert!(ctx.minus::<Tenant>().len() == 3);
}

#[test]
fn iteration_lists_every_element_with_the_job_before_the_dispatcher() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ctx = scopes::Dispatchers::from_handle(rt.handle().clone())
        + Job::new()
        + Tenant("acme")
        + CoroutineName::new("n");
    let names: Vec<String> = ctx.iter().map(|e| format!("{e:?}")).collect();
    assert_eq!(
        names,
        vec![
            "Tenant(\"acme\")",
            "CoroutineName(n)",
            "Job{Active}",
            "TokioRuntime(current_thread)"
        ]
    );
    assert_eq!(
        format!("{ctx:?}"),
        "[Tenant(\"acme\"), CoroutineName(n), Job{Active}, TokioRuntime(current_thread)]"
    );
}

#[test]
fn contexts_combine_with_contexts_and_the_empty_context() {
    let left = CoroutineName::new("l") + RequestId(1);
    let right = RequestId(2) + Tenant("t");
    let both = left.clone() + right;
    assert_eq!(
        format!("{both:?}"),
        "[CoroutineName(l), RequestId(2), Tenant(\"t\")]"
    );
    assert!(CoroutineContext::new().is_empty());
    assert_eq!(
        format!("{:?}", CoroutineContext::new() + left.clone()),
        format!("{left:?}")
    );
    assert_eq!(
        format!("{:?}", left.clone() + CoroutineContext::new()),
        format!("{left:?}")
    );
}

#[test]
fn user_elements_need_only_the_trait() {
    #[derive(Debug)]
    struct Plain;
    impl ContextElement for Plain {}
    let ctx = CoroutineContext::new().with(Plain);
    assert!(ctx.contains::<Plain>());
}

#[tokio::test]
async fn children_inherit_the_context_and_add_their_own_job() {
    let scope = Scope::new(Tenant("acme") + CoroutineName::new("svc"));
    let seen = scope.async_(async {
        let ctx = current_context();
        let child_ctx = current_scope()
            .async_(async { Ok::<_, std::convert::Infallible>(current_context()) })
            .await
            .unwrap();
        Ok::<_, std::convert::Infallible>((ctx, child_ctx))
    });
    let (ctx, child_ctx) = seen.await.unwrap();
    assert_eq!(ctx.get::<Tenant>(), Some(&Tenant("acme")));
    assert_eq!(child_ctx.get::<Tenant>(), Some(&Tenant("acme")));
    assert_ne!(ctx.job(), child_ctx.job(), "each coroutine has its own job");
    assert_eq!(
        child_ctx.job().unwrap().parent().as_ref(),
        None,
        "final jobs let go of their parent"
    );
    assert!(child_ctx.get::<CoroutineId>().is_none() || scopes::is_debug_mode());
}

#[tokio::test]
async fn current_context_is_empty_outside_coroutines() {
    assert!(current_context().is_empty());
}

#[tokio::test]
async fn a_job_in_the_launch_context_becomes_the_parent() {
    let scope = Scope::new(());
    let other_parent = Job::new();
    let c = scope.launch_with(other_parent.clone(), CoroutineStart::Default, async {
        delay(std::time::Duration::from_millis(1)).await
    });
    assert_eq!(c.job().parent(), Some(other_parent.clone()));
    assert!(scope.job().children().is_empty());
    other_parent.complete();
    other_parent.join().await;
    assert!(c.is_completed());
}
