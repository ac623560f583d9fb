//! Safetensors files written and read by hand in the tests, independently of the `safetensors`
//! crate: an 8-byte little-endian header length, a JSON header, then the data.

#![allow(dead_code)]

/// One tensor of a hand-written file: name, dtype string, shape, raw data.
pub struct Tensor<'a> {
    pub name: &'a str,
    pub dtype: &'a str,
    pub shape: &'a [usize],
    pub data: Vec<u8>,
}

/// An `F32` tensor of `values` in the order given (row-major).
pub fn f32_tensor<'a>(name: &'a str, shape: &'a [usize], values: &[f32]) -> Tensor<'a> {
    Tensor {
        name,
        dtype: "F32",
        shape,
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// An `F64` tensor of `values` in the order given (row-major).
pub fn f64_tensor<'a>(name: &'a str, shape: &'a [usize], values: &[f64]) -> Tensor<'a> {
    Tensor {
        name,
        dtype: "F64",
        shape,
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// The bytes of a file holding `tensors`, data in the order given.
pub fn file(tensors: &[Tensor<'_>]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0;
    for (position, tensor) in tensors.iter().enumerate() {
        if position > 0 {
            header.push(',');
        }
        let shape: Vec<String> = tensor.shape.iter().map(ToString::to_string).collect();
        header.push_str(&format!(
            r#""{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}}"#,
            tensor.name,
            tensor.dtype,
            shape.join(","),
            offset,
            offset + tensor.data.len()
        ));
        offset += tensor.data.len();
    }
    header.push('}');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    for tensor in tensors {
        bytes.extend_from_slice(&tensor.data);
    }
    bytes
}

/// What the header of `bytes` says about tensor `name`: dtype, shape, data offsets.
pub struct Entry {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub offsets: (usize, usize),
}

/// The JSON header of a file, as text.
pub fn header(bytes: &[u8]) -> &str {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    std::str::from_utf8(&bytes[8..8 + len]).unwrap()
}

/// The data section of a file.
pub fn data(bytes: &[u8]) -> &[u8] {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    &bytes[8 + len..]
}

/// Tensor `name`'s entry in a compact header (`{"dtype":..,"shape":[..],"data_offsets":[..]}`),
/// or `None` when the header does not name it.
pub fn entry(header: &str, name: &str) -> Option<Entry> {
    let start = header.find(&format!(r#""{name}":{{"#))? + name.len() + 3;
    let body = &header[start..start + header[start..].find('}')?];
    let field = |key: &str| -> Option<&str> {
        let from = body.find(&format!(r#""{key}":"#))? + key.len() + 3;
        let rest = &body[from..];
        let end = if rest.starts_with('[') {
            rest.find(']')? + 1
        } else {
            rest.find(',').unwrap_or(rest.len())
        };
        Some(&rest[..end])
    };
    let numbers = |text: &str| -> Vec<usize> {
        text.trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .filter(|part| !part.is_empty())
            .map(|part| part.parse().unwrap())
            .collect()
    };
    let offsets = numbers(field("data_offsets")?);
    Some(Entry {
        dtype: field("dtype")?.trim_matches('"').to_owned(),
        shape: numbers(field("shape")?),
        offsets: (offsets[0], offsets[1]),
    })
}
