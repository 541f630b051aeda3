// Lesson: the seed is written in the attribute as an integer literal, so the test replays the
// same order every time; a seed from elsewhere goes through `Test::new().seed(..)`.
const SEED: u64 = 7;

#[scopes::test(seed = SEED)] //~ ERROR `seed` takes an integer literal
async fn loads() {}

fn main() {
    let _ = SEED;
}
