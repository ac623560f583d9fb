// scratch: W1 b1 loop for profiling (not committed)
use typenn::prelude::*;
network! { struct Small(Dense<32, 10, Relu>, Dense<10, 1>); }
fn main() {
    let mut rng = StdRng::seed_from_u64(1);
    let xs: Vec<SVector<f32, 32>> = (0..4096)
        .map(|s| SVector::from_fn(|i, _| ((i * 7 + s) % 13) as f32 / 13.0 - 0.5))
        .collect();
    let ys: Vec<SVector<f32, 1>> = xs.iter().map(|x| SVector::from([x.sum() / 32.0])).collect();
    let mut model = Small::new(&mut rng);
    let mut trainer = model.trainer(Mse, Sgd::new(0.01)).unwrap();
    let t = std::time::Instant::now();
    let mut s = 0.0;
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for _ in 0..n {
        for (x, y) in xs.chunks(1).zip(ys.chunks(1)) {
            s += trainer.step(&mut model, x, y).unwrap();
        }
    }
    let e = t.elapsed().as_secs_f64();
    println!("{} ns/step {s}", e * 1e9 / (n as f64 * 4096.0));
}
