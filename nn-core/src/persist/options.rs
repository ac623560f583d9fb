//! How a file's tensors are matched to a network's.

use core::fmt;
use std::collections::HashMap;

use super::order::{FileOrder, KERAS_GRU_GATES, KERAS_LSTM_GATES, KERAS_RNN_GATES};
use super::{Entry, LoadError};

/// A user's renaming: the network's tensor name in, the file's tensor name out.
type Rename = Box<dyn Fn(&str) -> String + Send + Sync>;

/// How the file's names are found from the network's.
enum Names {
    /// The network's own names: `0.weight`, `hidden.bias`.
    Own,
    /// Layer `k` (counting from 0, in declaration order) is module `indices[k]` of the file.
    Sequential(Vec<usize>),
    /// Any renaming.
    Rename(Rename),
    /// Keras: layer `k` is the layer named `layers[k]`, whose weight is its `kernel`, stored
    /// channels-last.
    Keras(Vec<String>),
}

/// How strictly a weight file must match the network, and how its tensors are named.
///
/// By default every tensor of the network must be in the file under the network's own name
/// (`0.weight`, `0.bias`, ...), and the file may hold nothing else.
///
/// # PyTorch's `nn.Sequential`
///
/// `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))` names its parameters after the
/// module's position, activations included: `0.weight`, `0.bias`, `2.weight`, `2.bias`. In typenn
/// the activation belongs to the layer, so the same network is `Net(Dense<4, 8, Relu>, Dense<8, 1>)`
/// with tensors `0.*` and `1.*`: load it with `sequential_indices(&[0, 2])`. A model that keeps
/// its `nn.Sequential` in a field (`self.net = nn.Sequential(...)`) saves `net.0.weight`; map
/// such names with [`rename`](Self::rename).
///
/// ```
/// use typenn::persist::LoadOptions;
///
/// // Linear, ReLU, Linear: the linear layers are modules 0 and 2.
/// let options = LoadOptions::new().sequential_indices(&[0, 2]);
///
/// // Any renaming: the network's name in, the file's name out.
/// let options = LoadOptions::new().rename(|name| match name.split_once('.') {
///     Some(("1", tensor)) => format!("net.2.{tensor}"),
///     _ => format!("net.{name}"),
/// });
/// ```
pub struct LoadOptions {
    allow_extra_tensors: bool,
    names: Names,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = match &self.names {
            Names::Own => "own".to_owned(),
            Names::Sequential(indices) => format!("sequential {indices:?}"),
            Names::Rename(_) => "renamed".to_owned(),
            Names::Keras(layers) => format!("keras {layers:?}"),
        };
        f.debug_struct("LoadOptions")
            .field("allow_extra_tensors", &self.allow_extra_tensors)
            .field("names", &names)
            .finish()
    }
}

impl LoadOptions {
    /// Strict: the network's own names, and no tensor in the file that the network does not use.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            allow_extra_tensors: false,
            names: Names::Own,
        }
    }

    /// Whether tensors the network does not use (an optimizer's state, a larger model's other
    /// parts) are ignored rather than an error.
    #[must_use]
    pub const fn allow_extra_tensors(mut self, allow: bool) -> Self {
        self.allow_extra_tensors = allow;
        self
    }

    /// Reads layer `k` (counting from 0, in declaration order among the layers that have tensors,
    /// for tuple and named structs alike) from the file's module `indices[k]`: its tensors are
    /// `"{indices[k]}.weight"`, `"{indices[k]}.bias"` and so on, buffers included
    /// (`"{indices[k]}.running_mean"`). Replaces any [`rename`](Self::rename).
    #[must_use]
    pub fn sequential_indices(mut self, indices: &[usize]) -> Self {
        self.names = Names::Sequential(indices.to_vec());
        self
    }

    /// Finds each tensor in the file under `rename(name)`, where `name` is the network's own
    /// (`"0.weight"`, `"hidden.bias"`). Replaces any
    /// [`sequential_indices`](Self::sequential_indices).
    #[must_use]
    pub fn rename(mut self, rename: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.names = Names::Rename(Box::new(rename));
        self
    }

    /// Reads Keras layers: layer `k` (counting from 0, in declaration order, among the layers
    /// that have tensors) is the Keras layer named `layers[k]`, its tensors under Keras's names:
    ///
    /// - a Dense or convolution layer's weight is `"{layers[k]}.kernel"`, stored channels-last
    ///   as Keras keeps it and permuted into PyTorch's order on the way in (a Dense kernel
    ///   `(in, out)`, a Conv1D kernel `(k, in, out)`, a Conv2D kernel `(kh, kw, in, out)`), and
    ///   its bias `"{layers[k]}.bias"`. A Dense kernel after a `Flatten` of a (C, L) or
    ///   (C, H, W) output (Dropout and activations may stand between) has its inputs in the
    ///   order Keras's `Flatten` gives them, channels last, `(l, c)` or `(h, w, c)`, and is
    ///   permuted to typenn's `(c, l)` or `(c, h, w)`;
    /// - a normalization's weight and bias (one number per channel, or per number of the
    ///   sample for LayerNorm, in the sample's channels-last shape as Keras keeps it: `(l, c)`
    ///   or `(h, w, c)`) are `gamma` and `beta`, and BatchNorm's running statistics
    ///   `moving_mean` and `moving_variance`, as Keras's `BatchNormalization` names them.
    ///   typenn's `BatchNorm` adds PyTorch's eps, 1e-5, where Keras's default is 1e-3: build the
    ///   Keras layer with `epsilon=1e-5` for the same outputs.
    ///
    /// - a recurrent layer's tensors are `"{layers[k]}.kernel"` (`(in, gates * H)`),
    ///   `"{layers[k]}.recurrent_kernel"` (`(H, gates * H)`) and `"{layers[k]}.bias"`, as
    ///   Keras's `LSTM`, `GRU` and `SimpleRNN` hold them, with their gates put into PyTorch's
    ///   order: an LSTM's i, f, c, o are already PyTorch's i, f, g, o, a GRU's z, r, h become
    ///   r, z, n. An LSTM's or SimpleRNN's one bias `(gates * H,)` is PyTorch's input-side bias
    ///   (its hidden-side bias is zero). A GRU must be Keras's default `reset_after=True`,
    ///   whose bias is `(2, 3 H)`: row 0 the input side's, row 1 the hidden side's (a
    ///   `reset_after=False` GRU computes another function, and its `(3 H,)` bias is refused
    ///   as a wrong shape). Keras's default activations (`tanh`, `recurrent_activation=
    ///   "sigmoid"`) are the ones typenn's cells compute.
    ///
    /// Export them from Keras with each layer's `get_weights()` under those names. Replaces any
    /// other naming.
    ///
    /// ```
    /// use typenn::persist::LoadOptions;
    ///
    /// // Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3)]) names its layers
    /// // `dense` and `dense_1`.
    /// let options = LoadOptions::new().keras_layers(&["dense", "dense_1"]);
    ///
    /// // Sequential([Input((8, 8, 1)), Conv2D(4, 3), BatchNormalization(), Flatten(), Dense(2)]):
    /// // the Flatten has no tensors, so it takes no name.
    /// let options = LoadOptions::new().keras_layers(&["conv2d", "batch_normalization", "dense"]);
    ///
    /// // Sequential([Input((None, 2)), GRU(8, return_sequences=True), Dense(1)]), read into
    /// // `struct Amp { cell: Gru<2, 8>, out: Dense<8, 1> }`.
    /// let options = LoadOptions::new().keras_layers(&["gru", "dense"]);
    /// ```
    #[must_use]
    pub fn keras_layers(mut self, layers: &[&str]) -> Self {
        self.names = Names::Keras(layers.iter().map(|&layer| layer.to_owned()).collect());
        self
    }

    /// How the file orders `entry` (one of `entries`): Keras keeps its kernels channels-last
    /// (a Dense kernel `(in, out)`, a Conv1D kernel `(k, in, out)`, a Conv2D kernel
    /// `(kh, kw, in, out)`), and a LayerNormalization's `gamma` and `beta` over a sample with
    /// channels in the sample's channels-last shape (`(l, c)`, `(h, w, c)`).
    pub(super) fn file_order(&self, entry: &Entry, entries: &[Entry]) -> FileOrder {
        if !matches!(self.names, Names::Keras(_)) {
            FileOrder::Torch
        } else if let Some(order) = keras_gates(entry, entries) {
            match (entry.tensor, order.len()) {
                ("bias_ih_l0", 3) => FileOrder::KerasGateBias {
                    order,
                    row: Some(0),
                },
                ("bias_hh_l0", 3) => FileOrder::KerasGateBias {
                    order,
                    row: Some(1),
                },
                ("bias_ih_l0", _) => FileOrder::KerasGateBias { order, row: None },
                ("bias_hh_l0", _) => FileOrder::Absent,
                _ => FileOrder::KerasGates(order),
            }
        } else if is_kernel(entry, entries) && entry.flattened.len() >= 2 {
            FileOrder::KerasFlattenedKernel(entry.flattened)
        } else if is_kernel(entry, entries) {
            FileOrder::KerasKernel
        } else if entry.shape.len() >= 2 && is_normalization(entry.layer, entries) {
            FileOrder::KerasSample
        } else {
            FileOrder::Torch
        }
    }

    /// Whether tensors the network does not use are ignored.
    #[must_use]
    pub const fn allows_extra_tensors(&self) -> bool {
        self.allow_extra_tensors
    }

    /// The file's name for each entry, in order.
    ///
    /// # Errors
    ///
    /// [`LoadError::IndexCount`] when sequential indices do not list one module per layer, and
    /// [`LoadError::NameCollision`] when two entries get the same name.
    pub(super) fn file_names(&self, entries: &[Entry]) -> Result<Vec<String>, LoadError> {
        let names: Vec<String> = match &self.names {
            Names::Own => entries.iter().map(|entry| entry.name.clone()).collect(),
            Names::Rename(rename) => entries.iter().map(|entry| rename(&entry.name)).collect(),
            Names::Keras(layers) => {
                let count = entries.last().map_or(0, |entry| entry.layer + 1);
                if layers.len() != count {
                    return Err(LoadError::IndexCount {
                        layers: count,
                        indices: layers.len(),
                    });
                }
                entries
                    .iter()
                    .filter_map(|entry| {
                        let tensor = keras_name(entry, entries);
                        layers
                            .get(entry.layer)
                            .map(|layer| format!("{layer}.{tensor}"))
                    })
                    .collect()
            }
            Names::Sequential(indices) => {
                let layers = entries.last().map_or(0, |entry| entry.layer + 1);
                if indices.len() != layers {
                    return Err(LoadError::IndexCount {
                        layers,
                        indices: indices.len(),
                    });
                }
                entries
                    .iter()
                    .zip(entries.iter().map(|entry| indices.get(entry.layer)))
                    .filter_map(|(entry, index)| {
                        index.map(|index| format!("{index}.{}", entry.tensor))
                    })
                    .collect()
            }
        };
        // A Keras recurrent cell reads both of PyTorch's biases from its one `bias`.
        let shared_within_layer = matches!(self.names, Names::Keras(_));
        let mut seen: HashMap<&str, &Entry> = HashMap::with_capacity(names.len());
        for (name, entry) in names.iter().zip(entries) {
            if let Some(first) = seen.insert(name, entry)
                && !(shared_within_layer && first.layer == entry.layer)
            {
                return Err(LoadError::NameCollision {
                    tensor: name.clone(),
                    first: first.name.clone(),
                    second: entry.name.clone(),
                });
            }
        }
        Ok(names)
    }
}

/// Whether `entry` scales its layer's input number by number, as a normalization's weight
/// (Keras's `gamma`) does: a weight of the same shape as its layer's bias. A Dense or
/// convolution kernel mixes inputs and has more dimensions than its bias.
fn is_scale(entry: &Entry, entries: &[Entry]) -> bool {
    entry.tensor == "weight"
        && entries.iter().any(|other| {
            other.layer == entry.layer && other.tensor == "bias" && other.shape == entry.shape
        })
}

/// Whether `entry` is a Dense or convolution kernel: a weight that is not a scale.
fn is_kernel(entry: &Entry, entries: &[Entry]) -> bool {
    entry.tensor == "weight" && entry.shape.len() >= 2 && !is_scale(entry, entries)
}

/// Whether layer `layer` is a normalization (BatchNorm, LayerNorm): its weight is a scale.
fn is_normalization(layer: usize, entries: &[Entry]) -> bool {
    entries
        .iter()
        .any(|other| other.layer == layer && is_scale(other, entries))
}

/// For a tensor of a recurrent cell (PyTorch's `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
/// `bias_hh_l0`): Keras's gate for each of PyTorch's, told by the number of gates (LSTM 4,
/// GRU 3, SimpleRNN 1) in the cell's `weight_hh_l0`, `[gates * H, H]`.
fn keras_gates(entry: &Entry, entries: &[Entry]) -> Option<&'static [usize]> {
    if !matches!(
        entry.tensor,
        "weight_ih_l0" | "weight_hh_l0" | "bias_ih_l0" | "bias_hh_l0"
    ) {
        return None;
    }
    let hidden = entries
        .iter()
        .find(|other| other.layer == entry.layer && other.tensor == "weight_hh_l0")?;
    match *hidden.shape {
        [rows, columns] if rows == 4 * columns => Some(KERAS_LSTM_GATES),
        [rows, columns] if rows == 3 * columns => Some(KERAS_GRU_GATES),
        [rows, columns] if rows == columns => Some(KERAS_RNN_GATES),
        _ => None,
    }
}

/// Keras's name for `entry` (one of `entries`) inside its layer.
fn keras_name(entry: &Entry, entries: &[Entry]) -> &'static str {
    let normalization = is_normalization(entry.layer, entries);
    match entry.tensor {
        "weight_ih_l0" => "kernel",
        "weight_hh_l0" => "recurrent_kernel",
        "bias_ih_l0" | "bias_hh_l0" => "bias",
        "weight" if normalization => "gamma",
        "weight" => "kernel",
        "bias" if normalization => "beta",
        "running_mean" => "moving_mean",
        "running_var" => "moving_variance",
        other => other,
    }
}
