//! Validation: every rule about a declaration, checked on the parsed model. Emits no code.
//!
//! All mistakes are collected and reported together, each on the token that is wrong.

use std::cell::RefCell;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, Lit, Member, Path, PathArguments, Type};

use crate::parse::{Declaration, Style};

/// How a kind of layer reads its arguments and what shape it produces from its input's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `Dense<IN, OUT, Activation?>`: a vector of `IN` to a vector of `OUT`.
    Dense,
    /// `Flatten`: any shape to the vector of all its numbers.
    Flatten,
    /// `Dropout<PERCENT>`: the shape unchanged.
    Dropout,
    /// An activation's name alone: the shape unchanged.
    Activation,
    /// `LayerNorm`: the shape unchanged, normalized over the whole sample.
    LayerNorm,
    /// `Conv1d<IN_CHANNELS, OUT_CHANNELS, KERNEL, STRIDE?, PADDING?, DILATION?, Activation?>`:
    /// (C, L) to (OUT_CHANNELS, L').
    Conv1d,
    /// `BatchNorm`: the shape unchanged; channels are the first dimension (a vector's
    /// features), positions the rest.
    BatchNorm,
    /// `MaxPool1d<KERNEL, STRIDE?, PADDING?>` and `AvgPool1d<..>`: (C, L) to (C, L'), the
    /// stride the kernel unless given.
    Pool1d,
    /// `Conv2d<..>`, Conv1d's arguments, each for both sides: (C, H, W) to (OUT_CHANNELS, H', W').
    Conv2d,
    /// `MaxPool2d<KERNEL, STRIDE?, PADDING?>` and `AvgPool2d<..>`: (C, H, W) to (C, H', W').
    Pool2d,
    /// `GlobalAvgPool`: (C, L) or (C, H, W) to (C).
    GlobalPool,
    /// `Lstm<IN, HIDDEN>`, `Gru<IN, HIDDEN>`, `Rnn<IN, HIDDEN, Activation?>`: a vector of `IN` to
    /// a vector of `HIDDEN` at each time step, with state carried between steps.
    Recurrent,
    /// `CausalConv1d<IN_CHANNELS, OUT_CHANNELS, KERNEL, DILATION?, Activation?>`: a vector of
    /// `IN_CHANNELS` to a vector of `OUT_CHANNELS` at each time step, with the past inputs
    /// carried between steps.
    CausalConv1d,
}

impl Family {
    /// Whether layers of this family carry state from one time step to the next, so that a
    /// network holding one runs by time steps.
    pub fn has_state(self) -> bool {
        matches!(self, Self::Recurrent | Self::CausalConv1d)
    }
}

/// A layer kind the macro knows: its type in `nn-core`, its family, and how it is written.
#[derive(Debug)]
pub struct LayerKind {
    pub name: &'static str,
    pub family: Family,
    pub usage: &'static str,
}

/// The layer kinds typenn has, one line each.
#[rustfmt::skip]
pub const LAYER_KINDS: &[LayerKind] = &[
    LayerKind { name: "Dense", family: Family::Dense, usage: "`Dense<IN, OUT>` or `Dense<IN, OUT, Activation>`" },
    LayerKind { name: "Flatten", family: Family::Flatten, usage: "`Flatten`, with no arguments" },
    LayerKind { name: "Dropout", family: Family::Dropout, usage: "`Dropout<PERCENT>`, such as `Dropout<25>` for a rate of 0.25" },
    LayerKind { name: "BatchNorm", family: Family::BatchNorm, usage: "`BatchNorm`, with no arguments" },
    LayerKind { name: "LayerNorm", family: Family::LayerNorm, usage: "`LayerNorm`, with no arguments" },
    LayerKind { name: "Conv1d", family: Family::Conv1d, usage: "`Conv1d<IN_CHANNELS, OUT_CHANNELS, KERNEL>`, then optionally `STRIDE`, `PADDING` (a number, `Same` or `Valid`), `DILATION` and an activation" },
    LayerKind { name: "MaxPool1d", family: Family::Pool1d, usage: "`MaxPool1d<KERNEL>`, then optionally `STRIDE` (the kernel by default) and `PADDING`" },
    LayerKind { name: "AvgPool1d", family: Family::Pool1d, usage: "`AvgPool1d<KERNEL>`, then optionally `STRIDE` (the kernel by default) and `PADDING`" },
    LayerKind { name: "Conv2d", family: Family::Conv2d, usage: "`Conv2d<IN_CHANNELS, OUT_CHANNELS, KERNEL>`, then optionally `STRIDE`, `PADDING` (a number, `Same` or `Valid`), `DILATION` and an activation" },
    LayerKind { name: "MaxPool2d", family: Family::Pool2d, usage: "`MaxPool2d<KERNEL>`, then optionally `STRIDE` (the kernel by default) and `PADDING`" },
    LayerKind { name: "AvgPool2d", family: Family::Pool2d, usage: "`AvgPool2d<KERNEL>`, then optionally `STRIDE` (the kernel by default) and `PADDING`" },
    LayerKind { name: "GlobalAvgPool", family: Family::GlobalPool, usage: "`GlobalAvgPool`, with no arguments" },
    LayerKind { name: "Lstm", family: Family::Recurrent, usage: "`Lstm<IN, HIDDEN>`" },
    LayerKind { name: "Gru", family: Family::Recurrent, usage: "`Gru<IN, HIDDEN>`" },
    LayerKind { name: "Rnn", family: Family::Recurrent, usage: "`Rnn<IN, HIDDEN>` or `Rnn<IN, HIDDEN, Relu>` (tanh by default)" },
    LayerKind { name: "CausalConv1d", family: Family::CausalConv1d, usage: "`CausalConv1d<IN_CHANNELS, OUT_CHANNELS, KERNEL>`, then optionally `DILATION` and an activation" },
];

/// An activation written alone as a layer (`Relu`): the kind `Activate` in `nn-core`.
pub const ACTIVATION_LAYER: LayerKind = LayerKind {
    name: "Activate",
    family: Family::Activation,
    usage: "an activation's name alone, such as `Relu`",
};

/// The activations typenn has, written as a bare name: the runtime re-exports the same list.
pub use nn_activations::ACTIVATIONS;

/// A declaration that passed every rule.
pub struct Model<'a> {
    pub declaration: &'a Declaration,
    pub layers: Vec<LayerModel>,
    /// Widths that follow from the user's const items: a hidden const item each, named here,
    /// with the expression the compiler evaluates.
    pub derived: Vec<(Ident, TokenStream)>,
}

/// One valid layer.
pub struct LayerModel {
    pub member: Member,
    /// The field as written: `0` or `hidden`.
    pub label: String,
    pub kind: &'static LayerKind,
    /// The const arguments of the layer's type in `nn-core`, in order (its activation and the
    /// scalar type come after): Dense's `IN, OUT`; Flatten's `N`; Dropout's `P, N`; LayerNorm's
    /// `N, CHANNELS, HEIGHT` (0 where the sample has none);
    /// Activate's `N`; Conv1d's `IN_CHANNELS, OUT_CHANNELS, KERNEL, STRIDE, PADDING_BEFORE,
    /// PADDING_AFTER, DILATION, LENGTH, OUT_LENGTH`; CausalConv1d's `IN_CHANNELS,
    /// OUT_CHANNELS, KERNEL, DILATION`.
    pub type_args: Vec<Width>,
    /// The shape of one output sample: one number for a vector, (channels, length) for a
    /// sequence.
    pub output: Vec<Width>,
    /// The flat widths: how many numbers a sample has going in and coming out.
    pub inputs: Width,
    pub outputs: Width,
    pub activation: Activation,
    /// The type as a reader would write it: `Dense<32, 10, Relu>`.
    pub text: String,
    pub span: Span,
}

/// A layer width: a literal the macro can check, or an expression the compiler checks.
#[derive(Clone)]
pub struct Width {
    pub tokens: TokenStream,
    pub value: Option<usize>,
    pub span: Span,
    pub text: String,
}

impl Width {
    /// A literal the macro computed, on `span`.
    fn known(value: usize, span: Span) -> Self {
        Self {
            tokens: Literal::usize_unsuffixed(value).into_token_stream(),
            value: Some(value),
            span,
            text: value.to_string(),
        }
    }

    /// `value` if every input is known, otherwise a hidden const item holding the expression
    /// over the user's const items, which the compiler evaluates once: a geometry that cannot
    /// work is then one error, not one per place the width appears.
    fn derived(
        value: Option<usize>,
        expression: TokenStream,
        span: Span,
        text: String,
        here: &Here<'_>,
    ) -> Self {
        match value {
            Some(value) => Self::known(value, span),
            None => {
                let mut derived = here.derived.borrow_mut();
                let name = Ident::new(
                    &format!("__{}_WIDTH_{}", here.network.to_uppercase(), derived.len()),
                    span,
                );
                derived.push((name.clone(), expression));
                Self {
                    tokens: name.into_token_stream(),
                    value: None,
                    span,
                    text,
                }
            }
        }
    }
}

/// A layer's activation.
pub enum Activation {
    /// `Dense<IN, OUT>`: the identity.
    Default,
    /// One of [`ACTIVATIONS`], named by the user at `Span`.
    Known(&'static str, Span),
    /// A path to the user's own activation type.
    Custom(Path),
}

/// A layer as written, before its input shape is known.
struct Written {
    kind: &'static LayerKind,
    args: Vec<Width>,
    padding: Padding,
    activation: Activation,
}

/// A convolution's padding as written.
enum Padding {
    /// `Valid`, or none given: no padding.
    Valid,
    /// `Same`: the output as long as the input (stride 1), PyTorch's split of the total.
    Same(Span),
    /// A number of zeros on each side.
    Each(Width),
}

/// Checks `declaration` and returns the model to expand, or every mistake found.
pub fn validate(declaration: &Declaration) -> syn::Result<Model<'_>> {
    let mut errors = Vec::new();
    if !declaration.generics.params.is_empty() || declaration.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &declaration.generics,
            "`network!` adds the scalar type parameter itself (`T`, `f32` unless you write `f64`); remove these generics",
        ));
    }
    if declaration.fields.is_empty() {
        errors.push(syn::Error::new(
            declaration.body_span,
            "a network needs at least one layer, such as `Dense<4, 1>`",
        ));
    }
    errors.extend(duplicate_names(declaration));
    let input_shape = match input_shape(declaration) {
        Ok(shape) => shape,
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let mut written = Vec::new();
    for field in &declaration.fields {
        let layer = match &field.layer {
            Ok(ty) => layer(ty),
            Err(error) => Err(vec![error.clone()]),
        };
        match layer {
            Ok(layer) => written.push(layer),
            Err(mut more) => errors.append(&mut more),
        }
    }
    let mut layers: Vec<LayerModel> = Vec::new();
    let derived = RefCell::new(Vec::new());
    let network = declaration.ident.unraw().to_string();
    if written.len() == declaration.fields.len() {
        let mut shape = input_shape;
        for (index, (field, layer)) in declaration.fields.iter().zip(written).enumerate() {
            let (member, label) = match &field.name {
                Some(name) => (Member::Named(name.clone()), name.unraw().to_string()),
                None => (Member::Unnamed(index.into()), index.to_string()),
            };
            let span = field
                .layer
                .as_ref()
                .map_or_else(|_| Span::call_site(), Spanned::span);
            let text = field.layer.as_ref().map(type_text).unwrap_or_default();
            let previous = layers.last().map(|layer: &LayerModel| Previous {
                name: layer_name(declaration.style, layer),
            });
            let here = Here {
                name: match declaration.style {
                    Style::Tuple => format!("layer {} (`{text}`)", index + 1),
                    Style::Named => format!("layer `{label}` (`{text}`)"),
                },
                span,
                network: &network,
                derived: &derived,
            };
            match shaped(&layer, &here, previous.as_ref(), shape.as_deref()) {
                Ok((input, output, type_args)) => {
                    let inputs = flat(&input, span, &here);
                    shape = Some(output.clone());
                    layers.push(LayerModel {
                        member,
                        label,
                        kind: layer.kind,
                        inputs,
                        outputs: flat(&output, span, &here),
                        type_args,
                        output,
                        activation: layer.activation,
                        text,
                        span,
                    });
                }
                Err(error) => {
                    errors.push(error);
                    break;
                }
            }
        }
    }
    match errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    }) {
        Some(error) => Err(error),
        None => Ok(Model {
            declaration,
            layers,
            derived: derived.into_inner(),
        }),
    }
}

/// The layer before, as errors name it.
struct Previous {
    name: String,
}

/// The layer being checked, as errors name it, and where derived widths are collected.
struct Here<'a> {
    name: String,
    span: Span,
    network: &'a str,
    derived: &'a RefCell<Vec<(Ident, TokenStream)>>,
}

/// `#[input_shape(C, L)]` on the declaration, if given.
fn input_shape(declaration: &Declaration) -> syn::Result<Option<Vec<Width>>> {
    let Some(attr) = declaration
        .attrs
        .iter()
        .find(|attr| attr.path().is_ident("input_shape"))
    else {
        return Ok(None);
    };
    let parser = syn::punctuated::Punctuated::<GenericArgument, syn::Token![,]>::parse_terminated;
    let dims = attr.parse_args_with(parser)?;
    if !(1..=3).contains(&dims.len()) {
        return Err(syn::Error::new_spanned(
            attr,
            "`#[input_shape(..)]` takes a sample's shape: `(FEATURES)`, `(CHANNELS, LENGTH)` or `(CHANNELS, HEIGHT, WIDTH)`",
        ));
    }
    dims.iter()
        .map(|dim| width(dim, "input"))
        .collect::<syn::Result<Vec<Width>>>()
        .map(Some)
}

/// The shape a sample has, in words: `16`, `8 x 4`.
fn shape_text(shape: &[Width]) -> String {
    shape
        .iter()
        .map(|dim| dim.text.clone())
        .collect::<Vec<_>>()
        .join(" x ")
}

/// How many numbers a sample of `shape` has.
fn flat(shape: &[Width], span: Span, here: &Here<'_>) -> Width {
    match shape {
        [only] => only.clone(),
        _ => {
            let value = shape.iter().try_fold(1_usize, |all, dim| {
                dim.value.and_then(|v| all.checked_mul(v))
            });
            let factors = shape.iter().map(|dim| &dim.tokens);
            Width::derived(
                value,
                quote!(1 #(* (#factors))*),
                span,
                shape_text(shape).replace(" x ", " * "),
                here,
            )
        }
    }
}

/// The input and output shapes of `layer`, given what the layer before produces (or the
/// declared input shape, for the first).
fn shaped(
    layer: &Written,
    here: &Here<'_>,
    previous: Option<&Previous>,
    given: Option<&[Width]>,
) -> syn::Result<(Vec<Width>, Vec<Width>, Vec<Width>)> {
    let producer =
        || previous.map_or_else(|| "the declared input shape".to_owned(), |p| p.name.clone());
    let need_input = || {
        syn::Error::new(
            here.span,
            format!(
                "{} takes its input's shape from the layer before it; as the first layer, declare the input with `#[input_shape(..)]` on the network, such as `#[input_shape(1, 16)]` for one channel of 16",
                here.name
            ),
        )
    };
    match layer.kind.family {
        Family::Dense | Family::Recurrent => {
            let [inputs, outputs] = &layer.args[..] else {
                return Err(need_input());
            };
            if let Some(given) = given {
                match given {
                    [width] => same_width(here, &producer(), width, inputs)?,
                    _ => {
                        return Err(syn::Error::new(
                            inputs.span,
                            format!(
                                "{} takes a vector, but {} produces {}: put `Flatten` before it",
                                here.name,
                                producer(),
                                shape_text(given)
                            ),
                        ));
                    }
                }
            }
            let type_args = vec![inputs.clone(), outputs.clone()];
            Ok((vec![inputs.clone()], vec![outputs.clone()], type_args))
        }
        Family::CausalConv1d => causal_conv1d_shape(layer, here, &producer(), given),
        Family::Flatten => {
            let given = given.ok_or_else(need_input)?;
            let width = flat(given, here.span, here);
            Ok((given.to_vec(), vec![width.clone()], vec![width]))
        }
        Family::Dropout => {
            let given = given.ok_or_else(need_input)?;
            let type_args = vec![layer.args[0].clone(), flat(given, here.span, here)];
            Ok((given.to_vec(), given.to_vec(), type_args))
        }
        Family::BatchNorm => {
            let given = given.ok_or_else(need_input)?;
            let (channels, positions) = given.split_first().ok_or_else(need_input)?;
            let positions = if positions.is_empty() {
                Width::known(1, here.span)
            } else {
                flat(positions, here.span, here)
            };
            let type_args = vec![channels.clone(), positions];
            Ok((given.to_vec(), given.to_vec(), type_args))
        }
        Family::Activation => {
            let given = given.ok_or_else(need_input)?;
            Ok((
                given.to_vec(),
                given.to_vec(),
                vec![flat(given, here.span, here)],
            ))
        }
        Family::LayerNorm => {
            let given = given.ok_or_else(need_input)?;
            // N, then the leading dimensions (channels, height), 0 where the sample has none.
            let lead = |axis: usize| match given.get(axis).filter(|_| axis + 1 < given.len()) {
                Some(dim) => dim.clone(),
                None => Width::known(0, here.span),
            };
            let type_args = vec![flat(given, here.span, here), lead(0), lead(1)];
            Ok((given.to_vec(), given.to_vec(), type_args))
        }
        Family::Conv1d => conv1d_shape(layer, here, &producer(), given.ok_or_else(need_input)?),
        Family::Pool1d => pool1d_shape(layer, here, &producer(), given.ok_or_else(need_input)?),
        Family::Conv2d | Family::Pool2d => {
            window2d_shape(layer, here, &producer(), given.ok_or_else(need_input)?)
        }
        Family::GlobalPool => global_pool_shape(here, &producer(), given.ok_or_else(need_input)?),
    }
}

/// A literal width that must equal what the layer before produces.
fn same_width(
    here: &Here<'_>,
    producer: &str,
    produced: &Width,
    expected: &Width,
) -> syn::Result<()> {
    match (produced.value, expected.value) {
        (Some(produced), Some(wanted)) if produced != wanted => Err(syn::Error::new(
            expected.span,
            format!(
                "{} expects {wanted} inputs, but {producer} produces {produced} outputs; \
                 each layer's input width must equal the previous layer's output width",
                here.name
            ),
        )),
        _ => Ok(()),
    }
}

/// Conv1d over (C, L): checks the channels and that the kernel fits, and works out L'.
fn conv1d_shape(
    layer: &Written,
    here: &Here<'_>,
    producer: &str,
    given: &[Width],
) -> syn::Result<(Vec<Width>, Vec<Width>, Vec<Width>)> {
    let [in_channels, out_channels, kernel, stride, dilation] = &layer.args[..] else {
        return Err(syn::Error::new(here.span, layer.kind.usage));
    };
    let [channels, length] = given else {
        return Err(syn::Error::new(
            here.span,
            format!(
                "{} takes (channels, length) samples, but {producer} produces {}",
                here.name,
                shape_text(given)
            ),
        ));
    };
    if let (Some(found), Some(wanted)) = (channels.value, in_channels.value)
        && found != wanted
    {
        return Err(syn::Error::new(
            in_channels.span,
            format!(
                "{} expects {wanted} input channels, but {producer} produces {} ({found} channels)",
                here.name,
                shape_text(given)
            ),
        ));
    }
    let (before, after, out_length) = window(
        &layer.padding,
        (length, kernel, stride, dilation),
        here,
        producer,
        given,
        "the kernel",
    )?;
    let type_args = vec![
        in_channels.clone(),
        out_channels.clone(),
        kernel.clone(),
        stride.clone(),
        before,
        after,
        dilation.clone(),
        length.clone(),
        out_length.clone(),
    ];
    let output = vec![out_channels.clone(), out_length];
    Ok((vec![channels.clone(), length.clone()], output, type_args))
}

/// CausalConv1d, one frame per time step: checks that the frame before has `IN_CHANNELS`
/// numbers.
fn causal_conv1d_shape(
    layer: &Written,
    here: &Here<'_>,
    producer: &str,
    given: Option<&[Width]>,
) -> syn::Result<(Vec<Width>, Vec<Width>, Vec<Width>)> {
    let [in_channels, out_channels, _, _] = &layer.args[..] else {
        return Err(syn::Error::new(here.span, layer.kind.usage));
    };
    match given {
        Some([width]) => same_width(here, producer, width, in_channels)?,
        Some(given) => {
            return Err(syn::Error::new(
                in_channels.span,
                format!(
                    "{} takes one frame of channels per time step, but {producer} produces {}: put `Flatten` before it",
                    here.name,
                    shape_text(given)
                ),
            ));
        }
        None => {}
    }
    Ok((
        vec![in_channels.clone()],
        vec![out_channels.clone()],
        layer.args.clone(),
    ))
}

/// Pooling over (C, L): checks that the window fits, and works out L'.
fn pool1d_shape(
    layer: &Written,
    here: &Here<'_>,
    producer: &str,
    given: &[Width],
) -> syn::Result<(Vec<Width>, Vec<Width>, Vec<Width>)> {
    let [kernel, stride] = &layer.args[..] else {
        return Err(syn::Error::new(here.span, layer.kind.usage));
    };
    let [channels, length] = given else {
        return Err(syn::Error::new(
            here.span,
            format!(
                "{} takes (channels, length) samples, but {producer} produces {}",
                here.name,
                shape_text(given)
            ),
        ));
    };
    let one = Width::known(1, here.span);
    let (before, after, out_length) = window(
        &layer.padding,
        (length, kernel, stride, &one),
        here,
        producer,
        given,
        "the window",
    )?;
    let type_args = vec![
        channels.clone(),
        kernel.clone(),
        stride.clone(),
        before,
        after,
        length.clone(),
        out_length.clone(),
    ];
    Ok((
        given.to_vec(),
        vec![channels.clone(), out_length],
        type_args,
    ))
}

/// Global pooling over (C, L) or (C, H, W): one number per channel.
fn global_pool_shape(
    here: &Here<'_>,
    producer: &str,
    given: &[Width],
) -> syn::Result<(Vec<Width>, Vec<Width>, Vec<Width>)> {
    let [channels, spatial @ ..] = given else {
        return Err(syn::Error::new(
            here.span,
            "a sample has at least one number",
        ));
    };
    if spatial.is_empty() {
        return Err(syn::Error::new(
            here.span,
            format!(
                "{} takes (channels, length) or (channels, height, width) samples, but {producer} produces {}",
                here.name,
                shape_text(given)
            ),
        ));
    }
    let type_args = vec![channels.clone(), flat(spatial, here.span, here)];
    Ok((given.to_vec(), vec![channels.clone()], type_args))
}

/// Conv2d or 2-d pooling over (C, H, W): checks the channels and that the square window fits
/// both sides, and works out H' and W'.
fn window2d_shape(
    layer: &Written,
    here: &Here<'_>,
    producer: &str,
    given: &[Width],
) -> syn::Result<(Vec<Width>, Vec<Width>, Vec<Width>)> {
    let one = Width::known(1, here.span);
    let (in_channels, out_channels, kernel, stride, dilation) = match &layer.args[..] {
        [cin, cout, kernel, stride, dilation] => (Some(cin), Some(cout), kernel, stride, dilation),
        [kernel, stride] => (None, None, kernel, stride, &one),
        _ => return Err(syn::Error::new(here.span, layer.kind.usage)),
    };
    let [channels, height, width] = given else {
        return Err(syn::Error::new(
            here.span,
            format!(
                "{} takes (channels, height, width) samples, but {producer} produces {}",
                here.name,
                shape_text(given)
            ),
        ));
    };
    if let Some(in_channels) = in_channels
        && let (Some(found), Some(wanted)) = (channels.value, in_channels.value)
        && found != wanted
    {
        return Err(syn::Error::new(
            in_channels.span,
            format!(
                "{} expects {wanted} input channels, but {producer} produces {} ({found} channels)",
                here.name,
                shape_text(given)
            ),
        ));
    }
    let (before, after) = padding_widths(&layer.padding, kernel, stride, dilation, here)?;
    let shortest = [height, width].iter().filter_map(|side| side.value).min();
    if let (Some(shortest), Some(k), Some(d), Some(b), Some(a)) = (
        shortest,
        kernel.value,
        dilation.value,
        before.value,
        after.value,
    ) {
        let span = d * (k - 1) + 1;
        if shortest + b + a < span {
            let least = span.saturating_sub(b + a);
            let what = match (d > 1, in_channels.is_some()) {
                (true, _) => format!("a dilated window spans {span} x {span}"),
                (false, true) => format!("the kernel is {k} x {k}"),
                (false, false) => format!("the window is {k} x {k}"),
            };
            return Err(syn::Error::new(
                kernel.span,
                format!(
                    "{} needs inputs of at least {least} x {least} ({what}{}), but {producer} produces {}",
                    here.name,
                    if b + a > 0 { " with its padding" } else { "" },
                    shape_text(given)
                ),
            ));
        }
    }
    let side = |length: &Width, name: &str| {
        let text = format!("{name}'({})", length.text);
        out_length(
            (length, kernel, stride, dilation),
            (&before, &after),
            here,
            text,
        )
    };
    let (out_height, out_width) = (side(height, "H"), side(width, "W"));
    let output_channels = out_channels.unwrap_or(channels);
    let mut type_args: Vec<Width> = match (in_channels, out_channels) {
        (Some(cin), Some(cout)) => vec![cin.clone(), cout.clone(), kernel.clone(), stride.clone()],
        _ => vec![channels.clone(), kernel.clone(), stride.clone()],
    };
    type_args.push(before);
    if in_channels.is_some() {
        type_args.extend([after, dilation.clone()]);
    }
    type_args.extend([
        height.clone(),
        width.clone(),
        out_height.clone(),
        out_width.clone(),
    ]);
    let output = vec![output_channels.clone(), out_height, out_width];
    Ok((given.to_vec(), output, type_args))
}

/// A sliding window over a length: its padding before and after, and the output length,
/// checked to fit when the numbers are literals (`what` names the window in the message).
fn window(
    padding: &Padding,
    (length, kernel, stride, dilation): (&Width, &Width, &Width, &Width),
    here: &Here<'_>,
    producer: &str,
    given: &[Width],
    what: &str,
) -> syn::Result<(Width, Width, Width)> {
    let (before, after) = padding_widths(padding, kernel, stride, dilation, here)?;
    let known = |w: &Width| w.value;
    if let (Some(l), Some(k), Some(d), Some(b), Some(a)) = (
        known(length),
        known(kernel),
        known(dilation),
        known(&before),
        known(&after),
    ) {
        let span = d * (k - 1) + 1;
        if l + b + a < span {
            let what = if d > 1 {
                format!("a dilated window spans {span}")
            } else {
                format!("{what} is {k} long")
            };
            return Err(syn::Error::new(
                kernel.span,
                format!(
                    "{} needs inputs of at least {} long ({what}{}), but {producer} produces {}",
                    here.name,
                    span.saturating_sub(b + a),
                    if b + a > 0 { " with its padding" } else { "" },
                    shape_text(given)
                ),
            ));
        }
    }
    let text = format!("L'({})", length.text);
    let out_length = out_length(
        (length, kernel, stride, dilation),
        (&before, &after),
        here,
        text,
    );
    Ok((before, after, out_length))
}

/// The number of window positions along a padded length: a literal when every number is one,
/// otherwise the compiler's `window_len`.
fn out_length(
    (length, kernel, stride, dilation): (&Width, &Width, &Width, &Width),
    (before, after): (&Width, &Width),
    here: &Here<'_>,
    text: String,
) -> Width {
    let known = |w: &Width| w.value;
    let value = (|| {
        let (l, k, s, d, b, a) = (
            known(length)?,
            known(kernel)?,
            known(stride)?,
            known(dilation)?,
            known(before)?,
            known(after)?,
        );
        Some((l + b + a).checked_sub(d * (k - 1) + 1)? / s + 1)
    })();
    let (l, k, s, d, b, a) = (
        &length.tokens,
        &kernel.tokens,
        &stride.tokens,
        &dilation.tokens,
        &before.tokens,
        &after.tokens,
    );
    Width::derived(
        value,
        quote!(::typenn::__private::window_len(#l, #k, #s, #b, #a, #d)),
        kernel.span,
        text,
        here,
    )
}

/// A convolution's zeros before and after, from how its padding was written.
fn padding_widths(
    padding: &Padding,
    kernel: &Width,
    stride: &Width,
    dilation: &Width,
    here: &Here<'_>,
) -> syn::Result<(Width, Width)> {
    match padding {
        Padding::Valid => Ok((Width::known(0, here.span), Width::known(0, here.span))),
        Padding::Each(each) => Ok((each.clone(), each.clone())),
        Padding::Same(span) => {
            if let Some(s) = stride.value
                && s != 1
            {
                return Err(syn::Error::new(
                    *span,
                    format!(
                        "{}: `Same` padding keeps the length only with stride 1 (as in PyTorch), but the stride is {s}",
                        here.name
                    ),
                ));
            }
            let total = match (kernel.value, dilation.value) {
                (Some(k), Some(d)) => Some(d * (k - 1)),
                _ => None,
            };
            let (k, d) = (&kernel.tokens, &dilation.tokens);
            let before = Width::derived(
                total.map(|t| t / 2),
                quote!(((#d) * ((#k) - 1)) / 2),
                *span,
                "same".to_owned(),
                here,
            );
            let after = Width::derived(
                total.map(|t| t - t / 2),
                quote!((#d) * ((#k) - 1) - ((#d) * ((#k) - 1)) / 2),
                *span,
                "same".to_owned(),
                here,
            );
            Ok((before, after))
        }
    }
}

/// How errors name an earlier layer.
pub fn layer_name(style: Style, layer: &LayerModel) -> String {
    match style {
        Style::Tuple => format!(
            "layer {} (`{}`)",
            layer.label.parse::<usize>().map_or(0, |i| i + 1),
            layer.text
        ),
        Style::Named => format!("layer `{}` (`{}`)", layer.label, layer.text),
    }
}

/// A type as a reader would write it: `Dense<32, 10, Relu>`.
fn type_text(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(' ', "")
        .replace(',', ", ")
}

/// A field name used twice, reported on its second use (`r#type` and `type` are one name).
fn duplicate_names(declaration: &Declaration) -> Vec<syn::Error> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut errors = Vec::new();
    for (index, field) in declaration.fields.iter().enumerate() {
        let Some(name) = &field.name else {
            continue;
        };
        let text = name.unraw().to_string();
        match seen.iter().find(|(earlier, _)| *earlier == text) {
            Some((_, first)) => errors.push(syn::Error::new_spanned(
                name,
                format!(
                    "`{text}` already names layer {}; give each layer its own field name",
                    first + 1
                ),
            )),
            None => seen.push((text, index)),
        }
    }
    errors
}

/// One layer as written: its kind, its numbers and its activation.
fn layer(ty: &Type) -> Result<Written, Vec<syn::Error>> {
    let expected = || {
        vec![syn::Error::new_spanned(
            ty,
            "expected a layer type, such as `Dense<4, 8, Relu>`",
        )]
    };
    let Type::Path(path) = ty else {
        return Err(expected());
    };
    let Some(segment) = path.path.segments.last().filter(|_| path.qself.is_none()) else {
        return Err(expected());
    };
    let name = segment.ident.to_string();
    if let Some(known) = ACTIVATIONS.iter().find(|known| **known == name)
        && segment.arguments.is_none()
    {
        return Ok(Written {
            kind: &ACTIVATION_LAYER,
            args: Vec::new(),
            padding: Padding::Valid,
            activation: Activation::Known(known, segment.ident.span()),
        });
    }
    let Some(kind) = LAYER_KINDS.iter().find(|kind| kind.name == name) else {
        let mut known: Vec<&str> = LAYER_KINDS.iter().map(|kind| kind.name).collect();
        let mut message = format!(
            "unknown layer kind `{name}`: typenn has {}, and the activations ({}) as layers of their own",
            list(&known),
            list(ACTIVATIONS)
        );
        known.extend(ACTIVATIONS);
        if let Some(close) = closest(&name, &known) {
            message.push_str(&format!("; did you mean `{close}`?"));
        }
        return Err(vec![syn::Error::new_spanned(&segment.ident, message)]);
    };
    let arguments: Vec<&GenericArgument> = match &segment.arguments {
        PathArguments::None => Vec::new(),
        PathArguments::AngleBracketed(arguments) => arguments.args.iter().collect(),
        PathArguments::Parenthesized(_) => {
            return Err(vec![syn::Error::new_spanned(
                ty,
                format!("`{}` takes {}", kind.name, kind.usage),
            )]);
        }
    };
    let count = |range: core::ops::RangeInclusive<usize>| {
        if range.contains(&arguments.len()) {
            Ok(())
        } else {
            Err(vec![syn::Error::new_spanned(
                ty,
                format!(
                    "`{}` takes {}, but this has {} arguments",
                    kind.name,
                    kind.usage,
                    arguments.len()
                ),
            )])
        }
    };
    let written = |args: Vec<syn::Result<Width>>, padding, activation: syn::Result<Activation>| {
        let mut errors: Vec<syn::Error> = Vec::new();
        let mut widths = Vec::new();
        for arg in args {
            match arg {
                Ok(width) => widths.push(width),
                Err(error) => errors.push(error),
            }
        }
        match activation {
            Ok(activation) if errors.is_empty() => Ok(Written {
                kind,
                args: widths,
                padding,
                activation,
            }),
            Ok(_) => Err(errors),
            Err(error) => {
                errors.push(error);
                Err(errors)
            }
        }
    };
    match kind.family {
        Family::Dense => {
            count(2..=3)?;
            let activation = arguments
                .get(2)
                .map_or(Ok(Activation::Default), |a| activation(a));
            written(
                vec![width(arguments[0], "input"), width(arguments[1], "output")],
                Padding::Valid,
                activation,
            )
        }
        Family::Recurrent => {
            // Only the simple cell takes an activation: LSTM's and GRU's are fixed.
            count(2..=if kind.name == "Rnn" { 3 } else { 2 })?;
            let activation = arguments
                .get(2)
                .map_or(Ok(Activation::Default), |a| activation(a));
            written(
                vec![
                    width(arguments[0], "input"),
                    width(arguments[1], "hidden unit"),
                ],
                Padding::Valid,
                activation,
            )
        }
        Family::CausalConv1d => {
            count(3..=5)?;
            let (numbers, activation) = match arguments.split_last() {
                Some((last, rest)) if arguments.len() > 3 && is_activation(last) => {
                    (rest.to_vec(), activation(last))
                }
                _ => (arguments.clone(), Ok(Activation::Default)),
            };
            if let Some(extra) = numbers.get(4) {
                return Err(vec![syn::Error::new_spanned(
                    extra,
                    format!(
                        "`{}` takes {}; a causal convolution has no stride or padding: it gives one output per input, from the past ones",
                        kind.name, kind.usage
                    ),
                )]);
            }
            let dilation = numbers.get(3).map_or_else(
                || Ok(Width::known(1, ty.span())),
                |a| width(a, "dilation step"),
            );
            written(
                vec![
                    width(numbers[0], "input channel"),
                    width(numbers[1], "output channel"),
                    width(numbers[2], "kernel tap"),
                    dilation,
                ],
                Padding::Valid,
                activation,
            )
        }
        Family::Flatten
        | Family::Activation
        | Family::BatchNorm
        | Family::GlobalPool
        | Family::LayerNorm => {
            count(0..=0)?;
            written(Vec::new(), Padding::Valid, Ok(Activation::Default))
        }
        Family::Dropout => {
            count(1..=1)?;
            written(
                vec![percent(arguments[0])],
                Padding::Valid,
                Ok(Activation::Default),
            )
        }
        Family::Pool1d | Family::Pool2d => {
            count(1..=3)?;
            let kernel = width(arguments[0], "window position");
            let stride = match (arguments.get(1), &kernel) {
                (Some(argument), _) => width(argument, "stride step"),
                (None, Ok(kernel)) => Ok(kernel.clone()),
                (None, Err(_)) => Ok(Width::known(1, ty.span())),
            };
            match arguments.get(2).map_or(Ok(Padding::Valid), |a| padding(a)) {
                Ok(Padding::Same(span)) => Err(vec![syn::Error::new(
                    span,
                    "pooling takes its padding as a number of zeros on each side",
                )]),
                Ok(padding) => written(vec![kernel, stride], padding, Ok(Activation::Default)),
                Err(error) => Err(vec![error]),
            }
        }
        Family::Conv1d | Family::Conv2d => {
            count(3..=7)?;
            let (numbers, activation) = match arguments.split_last() {
                Some((last, rest)) if arguments.len() > 3 && is_activation(last) => {
                    (rest.to_vec(), activation(last))
                }
                _ => (arguments.clone(), Ok(Activation::Default)),
            };
            let option = |index: usize, what: &str| {
                numbers
                    .get(index)
                    .map_or_else(|| Ok(Width::known(1, ty.span())), |a| width(a, what))
            };
            let padding = match numbers.get(4) {
                None => Ok(Padding::Valid),
                Some(argument) => padding(argument),
            };
            let args = vec![
                width(numbers[0], "input channel"),
                width(numbers[1], "output channel"),
                width(numbers[2], "kernel tap"),
                option(3, "stride step"),
                option(5, "dilation step"),
            ];
            match padding {
                Ok(padding) => written(args, padding, activation),
                Err(error) => {
                    let mut errors = written(args, Padding::Valid, activation)
                        .err()
                        .unwrap_or_default();
                    errors.push(error);
                    Err(errors)
                }
            }
        }
    }
}

/// Whether an argument reads as an activation rather than a number: a known activation's
/// name, or a path of more than one segment.
fn is_activation(argument: &GenericArgument) -> bool {
    match argument {
        GenericArgument::Type(Type::Path(path)) => {
            path.path.segments.len() > 1
                || path
                    .path
                    .get_ident()
                    .is_some_and(|ident| ACTIVATIONS.contains(&ident.to_string().as_str()))
        }
        _ => false,
    }
}

/// A dropout percentage: a whole number below 100 (zero allowed), or a const item.
fn percent(argument: &GenericArgument) -> syn::Result<Width> {
    if let GenericArgument::Const(Expr::Lit(literal)) = argument
        && let Lit::Int(int) = &literal.lit
        && let Ok(value) = int.base10_parse::<usize>()
    {
        if value >= 100 {
            return Err(syn::Error::new_spanned(
                int,
                format!(
                    "a dropout rate is a whole percentage below 100, such as `25` for 0.25, but this is {value}"
                ),
            ));
        }
        return Ok(Width::known(value, argument.span()));
    }
    width(argument, "percent")
}

/// A convolution's padding: `Same`, `Valid`, or the zeros on each side (0 allowed).
fn padding(argument: &GenericArgument) -> syn::Result<Padding> {
    if let GenericArgument::Type(Type::Path(path)) = argument
        && let Some(ident) = path.path.get_ident()
    {
        match ident.to_string().as_str() {
            "Same" => return Ok(Padding::Same(ident.span())),
            "Valid" => return Ok(Padding::Valid),
            _ => {}
        }
    }
    if let GenericArgument::Const(Expr::Lit(literal)) = argument
        && let Lit::Int(int) = &literal.lit
        && int.base10_parse::<usize>().ok() == Some(0)
    {
        return Ok(Padding::Each(Width::known(0, argument.span())));
    }
    width(argument, "padding zero").map(Padding::Each)
}

/// A width argument: a whole literal, a const item, or a `{ ... }` expression.
fn width(argument: &GenericArgument, what: &str) -> syn::Result<Width> {
    let text = argument.to_token_stream().to_string().replace(' ', "");
    let checked = |value: Option<usize>| Width {
        tokens: argument.to_token_stream(),
        value,
        span: argument.span(),
        text: text.clone(),
    };
    match argument {
        GenericArgument::Const(Expr::Lit(literal)) => match &literal.lit {
            Lit::Int(int) => {
                if !matches!(int.suffix(), "" | "usize") {
                    return Err(syn::Error::new_spanned(
                        int,
                        format!(
                            "a layer width is a `usize`: write `{}` without the `{}` suffix",
                            int.base10_digits(),
                            int.suffix()
                        ),
                    ));
                }
                match int.base10_parse::<usize>() {
                    Ok(0) => Err(syn::Error::new_spanned(
                        int,
                        format!("a layer needs at least one {what}, but this width is 0"),
                    )),
                    Ok(value) => Ok(checked(Some(value))),
                    Err(_) => Err(syn::Error::new_spanned(
                        int,
                        "this width does not fit in a `usize`",
                    )),
                }
            }
            other => Err(syn::Error::new_spanned(
                other,
                format!(
                    "a layer width is a whole number of {what}s, such as `10`, but this is `{text}`"
                ),
            )),
        },
        GenericArgument::Const(Expr::Unary(_)) => Err(syn::Error::new_spanned(
            argument,
            format!(
                "a layer width is a whole number of {what}s, such as `10`, but this is `{text}`"
            ),
        )),
        GenericArgument::Const(Expr::Block(_) | Expr::Path(_)) => Ok(checked(None)),
        GenericArgument::Type(Type::Path(path))
            if path.qself.is_none() && path.path.segments.iter().all(|s| s.arguments.is_none()) =>
        {
            Ok(checked(None))
        }
        _ => Err(syn::Error::new_spanned(
            argument,
            format!(
                "expected the number of {what}s: a whole number such as `10` or the name of a `const` item"
            ),
        )),
    }
}

/// The activation argument.
fn activation(argument: &GenericArgument) -> syn::Result<Activation> {
    let expected = format!(
        "expected an activation type such as `Relu`; typenn has {}",
        list(ACTIVATIONS)
    );
    let GenericArgument::Type(Type::Path(path)) = argument else {
        return Err(syn::Error::new_spanned(argument, expected));
    };
    if path.qself.is_some() {
        return Err(syn::Error::new_spanned(argument, expected));
    }
    if path.path.segments.len() > 1 || path.path.leading_colon.is_some() {
        return Ok(Activation::Custom(path.path.clone()));
    }
    let name = path.path.segments[0].ident.to_string();
    match ACTIVATIONS.iter().find(|known| **known == name) {
        Some(known) if path.path.segments[0].arguments.is_none() => {
            Ok(Activation::Known(known, argument.span()))
        }
        _ => {
            let mut message = format!(
                "unknown activation `{name}`: typenn has {}",
                list(ACTIVATIONS)
            );
            if let Some(close) = closest(&name, ACTIVATIONS) {
                message.push_str(&format!("; did you mean `{close}`?"));
            }
            message.push_str(
                " (an activation of your own is written as a path, such as `crate::MyActivation`)",
            );
            Err(syn::Error::new_spanned(argument, message))
        }
    }
}

fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The known name closest to `name`, if it is a plausible misspelling.
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_lowercase()), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors(tokens: TokenStream) -> Vec<String> {
        let declaration: Declaration = syn::parse2(tokens).unwrap();
        match validate(&declaration) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_the_design_example() {
        assert!(
            errors(quote!(
                pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
            ))
            .is_empty()
        );
        assert!(
            errors(quote!(
                struct Net(Dense<INPUTS, 10>, Dense<{ 5 + 5 }, 1, crate::Mine>);
            ))
            .is_empty()
        );
    }

    #[test]
    fn causal_convolutions_chain_by_channels_and_check_their_numbers() {
        assert!(
            errors(quote!(
                struct W6(
                    CausalConv1d<1, 8, 3, Tanh>,
                    CausalConv1d<8, 8, 3, 2, Tanh>,
                    Dense<8, 1>,
                );
            ))
            .is_empty()
        );
        let found = errors(quote!(
            struct W6(CausalConv1d<1, 8, 3>, CausalConv1d<4, 8, 3>, Dense<8, 1>);
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("expects 4 inputs, but layer 1") && found[0].contains("produces 8"),
            "{found:?}"
        );
        let found = errors(quote!(
            struct Empty(CausalConv1d<1, 8, 0>);
        ));
        assert!(found[0].contains("at least one kernel tap"), "{found:?}");
        let found = errors(quote!(
            struct Strided(CausalConv1d<1, 8, 3, 1, 2>);
        ));
        assert!(found[0].contains("no stride or padding"), "{found:?}");
    }

    #[test]
    fn names_both_layers_in_a_width_mismatch() {
        let found = errors(quote!(
            pub struct Regressor(Dense<32, 10, Relu>, Dense<11, 1>);
        ));
        assert_eq!(
            found,
            [
                "layer 2 (`Dense<11, 1>`) expects 11 inputs, but layer 1 (`Dense<32, 10, Relu>`) produces 10 outputs; \
              each layer's input width must equal the previous layer's output width"
            ]
        );
        let named = errors(quote!(
            struct C {
                hidden: Dense<4, 8, Tanh>,
                output: Dense<9, 3>,
            }
        ));
        assert!(
            named[0]
                .starts_with("layer `output` (`Dense<9, 3>`) expects 9 inputs, but layer `hidden`"),
            "{named:?}"
        );
    }

    #[test]
    fn raw_field_names_are_named_without_their_prefix() {
        let found = errors(quote!(
            struct C {
                r#type: Dense<4, 8>,
                output: Dense<9, 3>,
            }
        ));
        assert!(found[0].ends_with("but layer `type` (`Dense<4, 8>`) produces 8 outputs; each layer's input width must equal the previous layer's output width"), "{found:?}");
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let found = errors(quote!(
            struct Net(Dense<0, 3, Rellu>, Conv<3, 2>, Dense<2.5, 1>);
        ));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("at least one input"));
        assert!(found[1].contains("did you mean `Relu`?"));
        assert!(found[2].starts_with("unknown layer kind `Conv`"));
        assert!(found[3].contains("whole number of inputs"));
    }

    #[test]
    fn suggests_the_rust_spelling() {
        let found = errors(quote!(
            struct Net(Dense<1, 1, ReLU>);
        ));
        assert!(found[0].contains("did you mean `Relu`?"), "{found:?}");
    }

    #[test]
    fn rejects_empty_networks_and_generics() {
        assert_eq!(
            errors(quote!(
                struct Net();
            )),
            ["a network needs at least one layer, such as `Dense<4, 1>`"]
        );
        assert!(
            errors(quote!(
                struct Net<T>(Dense<1, 1>);
            ))[0]
                .contains("remove these generics")
        );
    }

    #[test]
    fn a_repeated_field_name_is_one_error_on_its_second_use() {
        let found = errors(quote!(
            struct C {
                hidden: Dense<4, 8, Tanh>,
                r#hidden: Dense<8, 8>,
                output: Dense<8, 3>,
                hidden: Dense<3, 1>,
            }
        ));
        assert_eq!(
            found,
            [
                "`hidden` already names layer 1; give each layer its own field name",
                "`hidden` already names layer 1; give each layer its own field name"
            ]
        );
    }

    #[test]
    fn two_dimensional_shapes_are_checked_on_the_wrong_number() {
        let found = errors(quote!(
            #[input_shape(3, 8, 8)]
            struct Net(Conv2d<3, 4, 3>, Dense<144, 1>);
        ));
        assert_eq!(
            found,
            [
                "layer 2 (`Dense<144, 1>`) takes a vector, but layer 1 (`Conv2d<3, 4, 3>`) produces 4 x 6 x 6: put `Flatten` before it"
            ]
        );
        let found = errors(quote!(
            #[input_shape(2, 9, 4)]
            struct Net(Conv2d<2, 2, 3, 1, 1, 3>);
        ));
        assert_eq!(
            found,
            [
                "layer 1 (`Conv2d<2, 2, 3, 1, 1, 3>`) needs inputs of at least 5 x 5 (a dilated window spans 7 x 7 with its padding), but the declared input shape produces 2 x 9 x 4"
            ]
        );
        let found = errors(quote!(
            #[input_shape(2, 8, 8)]
            struct Net(Conv2d<2, 2, 3, 2, Same>);
        ));
        assert!(
            found[0].contains("`Same` padding keeps the length only with stride 1"),
            "{found:?}"
        );
        let found = errors(quote!(
            #[input_shape(2, 8, 8)]
            struct Net(MaxPool2d<2, 2, Same>);
        ));
        assert!(
            found[0].contains("pooling takes its padding as a number"),
            "{found:?}"
        );
        let found = errors(quote!(
            #[input_shape(2, 8)]
            struct Net(MaxPool2d<2>);
        ));
        assert_eq!(
            found,
            [
                "layer 1 (`MaxPool2d<2>`) takes (channels, height, width) samples, but the declared input shape produces 2 x 8"
            ]
        );
        let found = errors(quote!(
            #[input_shape(8)]
            struct Net(GlobalAvgPool);
        ));
        assert_eq!(
            found,
            [
                "layer 1 (`GlobalAvgPool`) takes (channels, length) or (channels, height, width) samples, but the declared input shape produces 8"
            ]
        );
        assert!(
            errors(quote!(
                #[input_shape(3, 8, 8)]
                struct Net(
                    Conv2d<3, 4, 3, 1, Same, 2, Relu>,
                    Dropout<10>,
                    Tanh,
                    AvgPool2d<3, 2, 1>,
                    GlobalAvgPool,
                    Dense<4, 1>,
                );
            ))
            .is_empty()
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("relu", "relu"), 0);
        assert_eq!(edit_distance("rellu", "relu"), 1);
        assert_eq!(edit_distance("sigmod", "sigmoid"), 1);
    }
}
