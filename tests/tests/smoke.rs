use scopes::prelude::*;
use std::time::Duration;

#[tokio::test]
async fn smoke() {
    let scope = Scope::new(Job::new());
    let c = scope.launch(async {
        current_scope().launch(async { delay(Duration::from_millis(10)).await });
        println!("parent body done");
    });
    c.join().await;
    assert!(c.is_completed());
    let d = scope.async_(async { 41 + 1 });
    assert_eq!(d.await.unwrap(), 42);
    let r = coroutine_scope(|s| async move {
        s.launch(async { Err::<(), _>("boom") });
        delay(Duration::from_secs(10)).await;
        Ok::<_, CoroutineError>(1)
    })
    .await;
    println!("{r:?}");
    assert_eq!(r.unwrap_err().to_string(), "boom");
    println!("{}", scope.dump());
}
