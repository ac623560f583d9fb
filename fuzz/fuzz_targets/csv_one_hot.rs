//! The CSV reader over arbitrary bytes, with a one-hot class column (by name, by index or the
//! last, as the first byte chooses), into an `f32` dataset of 2 features and 3 classes.
//!
//! Checks: no panic; an error renders and names a line the text has; a dataset that loads has
//! one sample per data line, only finite inputs, targets of exactly one 1 and two 0s, and reads
//! back the same from the CSV it makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typenn::{Dataset, Target};
use typenn_fuzz::csv::{check, column};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else {
        return;
    };
    let target = Target::OneHot(column(choice, "label"));
    let result = Dataset::<f32, 2, 3>::from_csv_reader(bytes, target);
    check(bytes, &result, true);
});
