//! The firmware: runs every sample in every precision and prints the results over semihosting,
//! then ends QEMU with exit code 0. A panic ends it with exit code 1 (panic-semihosting).
#![no_std]
#![no_main]

use core::fmt::Write;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use panic_semihosting as _;
use typenn_embedded::{DONE, Precision, SAMPLES, model, run, write_line};

#[entry]
fn main() -> ! {
    let status = match print_results() {
        Ok(()) => debug::EXIT_SUCCESS,
        Err(()) => debug::EXIT_FAILURE,
    };
    debug::exit(status);
    // Only reached without a debugger or emulator to end the program.
    loop {
        cortex_m::asm::wfi();
    }
}

/// Prints one line per sample and precision, then the closing line.
fn print_results() -> Result<(), ()> {
    let mut stdout = hio::hstdout()?;
    let model = model();
    let mut lines = 0_usize;
    for precision in Precision::ALL {
        for (index, sample) in SAMPLES.iter().enumerate() {
            let outputs = run(model, precision, sample);
            write_line(&mut stdout, precision, index, &outputs).map_err(|_| ())?;
            lines += 1;
        }
    }
    writeln!(stdout, "{DONE} {lines}").map_err(|_| ())
}
