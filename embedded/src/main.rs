//! The firmware: quantizes the network, runs every sample in every precision and prints the
//! results over semihosting, then ends QEMU with exit code 0. A panic or a failed quantization
//! ends it with exit code 1.
#![no_std]
#![no_main]

use core::fmt::Write;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use panic_semihosting as _;
use typenn_embedded::{DONE, Precision, SAMPLES, networks, run, write_line};

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
    let networks = match networks() {
        Ok(networks) => networks,
        Err(_) => {
            // Not the error's text: its `f32` formatting alone would take kilobytes of flash.
            writeln!(stdout, "the network could not be quantized").map_err(|_| ())?;
            return Err(());
        }
    };
    let mut lines = 0_usize;
    for precision in Precision::ALL {
        for (index, sample) in SAMPLES.iter().enumerate() {
            let outputs = run(&networks, precision, sample);
            write_line(&mut stdout, precision, index, &outputs).map_err(|_| ())?;
            lines += 1;
        }
    }
    writeln!(stdout, "{DONE} {lines}").map_err(|_| ())
}
