// scratch: W2 loop for profiling (not committed)
use typenn::prelude::*;
network! { struct Small(Dense<32, 10, Relu>, Dense<10, 1>); }
fn main() {
    let model = Small::new(&mut StdRng::seed_from_u64(1));
    let x = SVector::<f32, 32>::from_fn(|i, _| i as f32 / 32.0 - 0.5);
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    for round in 0..3 {
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(model.forward(std::hint::black_box(&x)));
        }
        println!(
            "round {round}: {:.1} ns",
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        );
    }
}
