//! `#[weights(..)]` in `network!`: the constant read at compile time holds exactly what the
//! run-time loader reads from the same file, for every layer kind with parameters, in `f32` and
//! `f64`, with tuple and named fields. The files come from `tests/reference/include_weights.py`
//! (value = layer + position / 100, negated at odd positions, in PyTorch's row-major order).

use typenn::prelude::*;
use typenn::{LoadError, Scalar};

network! {
    /// Conv2d, BatchNorm with its running statistics, Dense and LayerNorm.
    #[input_shape(1, 4, 4)]
    #[weights("tests/fixtures/include_weights/image.safetensors")]
    struct Image(Conv2d<1, 2, 3, Relu>, BatchNorm, Flatten, Dense<8, 3>, LayerNorm);
}

network! {
    /// Conv1d, a LayerNorm over a (channels, length) sample and layers without parameters,
    /// with named fields.
    #[input_shape(2, 6)]
    #[weights("tests/fixtures/include_weights/sequence.safetensors")]
    struct Sequence {
        conv: Conv1d<2, 3, 3>,
        norm: LayerNorm,
        pool: MaxPool1d<2>,
        flat: Flatten,
        out: Dense<6, 2, Tanh>,
    }
}

network! {
    /// The compile-fail cases' network, in f64.
    #[weights("tests/fixtures/include_weights/small_f64.safetensors", f64)]
    struct Small(Dense<2, 3, Relu>, Dense<3, 1>);
}

/// In read-only memory, as firmware keeps it.
static IMAGE: Image = Image::WEIGHTS;

const IMAGE_FILE: &[u8] = include_bytes!("fixtures/include_weights/image.safetensors");
const SEQUENCE_FILE: &[u8] = include_bytes!("fixtures/include_weights/sequence.safetensors");
const SMALL_FILE: &[u8] = include_bytes!("fixtures/include_weights/small_f64.safetensors");

/// Every tensor and buffer, in order.
fn tensors<T: Scalar, N: Parameters<T>>(network: &N) -> Vec<Vec<T>> {
    let parameters = (0..N::TENSORS).map(|index| network.tensor(index).to_vec());
    let buffers = (0..N::BUFFERS).map(|index| network.buffer(index).to_vec());
    parameters.chain(buffers).collect()
}

/// The fixture's value at `position` of a tensor of layer `layer`.
fn value(layer: f64, position: usize) -> f64 {
    let magnitude = layer + position as f64 / 100.0;
    if position.is_multiple_of(2) {
        magnitude
    } else {
        -magnitude
    }
}

#[test]
fn the_constant_holds_what_the_run_time_loader_reads() -> Result<(), LoadError> {
    let loaded = Image::from_safetensors_bytes(IMAGE_FILE)?;
    assert_eq!(tensors(&IMAGE), tensors(&loaded));
    let loaded = Sequence::from_safetensors_bytes(SEQUENCE_FILE)?;
    assert_eq!(tensors(&Sequence::WEIGHTS), tensors(&loaded));
    let loaded: Small<f64> = Persist::from_safetensors_bytes(SMALL_FILE)?;
    assert_eq!(tensors(&Small::WEIGHTS), tensors(&loaded));
    Ok(())
}

#[test]
fn every_value_is_where_pytorch_put_it() {
    // Dense's [out 3, in 8] weight, row-major in the file: W[o][i] at position 8 o + i.
    let dense = &IMAGE.3;
    for o in 0..3 {
        for i in 0..8 {
            let expected = value(4.0, 8 * o + i) as f32;
            assert_eq!(dense.weights[(o, i)], expected, "W[{o}][{i}]");
        }
    }
    // Conv2d's [2, 1, 3, 3] kernel as nested arrays: [o][c][row][column].
    assert_eq!(IMAGE.0.weight[1][0][2][1], value(1.0, 9 + 7) as f32);
    assert_eq!(IMAGE.1.running_var, [3.75, 3.76]);
    assert_eq!(IMAGE.1.running_mean, [3.25, -3.26]);
    // Conv1d's [3, 2, 3] kernel and a LayerNorm over (3, 4), flat in the sample's order.
    let sequence = &Sequence::WEIGHTS;
    assert_eq!(sequence.conv.weight[2][1][0], value(1.0, 6 * 2 + 3) as f32);
    assert_eq!(sequence.norm.bias[7], value(4.0, 7) as f32);
    assert_eq!(Small::WEIGHTS.1.bias[0], 4.0);
    assert_eq!(Small::WEIGHTS.0.weights[(2, 1)], value(1.0, 5));
}

#[test]
fn the_constant_runs_as_the_loaded_network() -> Result<(), LoadError> {
    let loaded = Image::from_safetensors_bytes(IMAGE_FILE)?;
    let input = SVector::<f32, 16>::from_fn(|i, _| i as f32 / 8.0 - 1.0);
    assert_eq!(IMAGE.forward(&input), loaded.forward(&input));
    Ok(())
}
