// Lesson: a test runs with one seed and one real-time limit: give each argument once.
#[scopes::test(seed = 1, seed = 2)] //~ ERROR duplicate argument `seed`
async fn loads() {}

fn main() {}
