//! The CSV reader over arbitrary bytes, with a regression target column (by name, by index or
//! the last, as the first byte chooses), into `f32` and `f64` datasets of 2 features.
//!
//! Checks: no panic; an error renders and names a line the text has; a dataset that loads has
//! one sample per data line, only finite values, and reads back the same from the CSV it makes;
//! whatever loads as `f32` loads as `f64` with the same values, rounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typenn::{Dataset, Target};
use typenn_fuzz::csv::{check, column};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else {
        return;
    };
    let target = Target::Column(column(choice, "y"));
    let narrow = Dataset::<f32, 2, 1>::from_csv_reader(bytes, target.clone());
    let wide = Dataset::<f64, 2, 1>::from_csv_reader(bytes, target);
    check(bytes, &narrow, false);
    check(bytes, &wide, false);
    if let Ok(narrow) = &narrow {
        let wide = wide.as_ref().expect("what reads as f32 reads as f64");
        let rounded = |v: &f64| f64::from(*v as f32).to_bits();
        let narrow_bits = |v: &f32| f64::from(*v).to_bits();
        for (n, w) in narrow.inputs().iter().zip(wide.inputs()) {
            assert!(n.iter().map(narrow_bits).eq(w.iter().map(rounded)));
        }
        for (n, w) in narrow.targets().iter().zip(wide.targets()) {
            assert!(n.iter().map(narrow_bits).eq(w.iter().map(rounded)));
        }
    }
});
