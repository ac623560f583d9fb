use typenn::{DataError, SMatrix, SequenceDataset};

fn main() -> Result<(), DataError> {
    let data = SequenceDataset::<f32, 0, 1, 1>::new(vec![SMatrix::zeros()], vec![SMatrix::zeros()])?;
    println!("{}", data.len());
    Ok(())
}
