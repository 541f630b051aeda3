// Every form of `launch!` and `async_!`, `?` in bodies, and the location name.
use scopes::prelude::*;
use scopes::{async_, launch};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let scope = Scope::new(());
    let ctx = CoroutineName::new("named");
    let a = launch!(scope, { let _n: u8 = "1".parse()?; });
    let b = launch!(scope, ctx => { });
    let c = async_!(scope, { "2".parse::<u8>()? + 1 });
    let parent = launch!(scope, {
        launch!({ });
        launch!(CoroutineName::new("child") => { });
        let d = async_!({ 5u8 });
        assert_eq!(d.await?, 5);
    });
    for job in [&a, &b, &parent] {
        job.join().await;
        assert!(job.final_error().is_none());
    }
    assert_eq!(c.await.unwrap(), 3);
    assert!(format!("{a:?}").contains("launch-forms.rs:9\" StandaloneCoroutine"), "{a:?}");
    assert_eq!(format!("{b:?}"), "\"named\" StandaloneCoroutine{Completed}");
}
