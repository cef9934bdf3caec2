//! The in-memory fallback backend: one buffer of the file's size.

use std::cell::RefCell;
use std::sync::Arc;

use super::StoreError;

/// The whole file in one buffer (only for small files, see `MEMORY_FALLBACK_LIMIT`).
pub struct MemoryPieces {
    data: RefCell<Vec<u8>>,
}

impl MemoryPieces {
    pub fn new(file_size: u64) -> Result<Self, StoreError> {
        let len = usize::try_from(file_size).map_err(|_| StoreError::Unavailable(file_size))?;
        // The size comes from the server: a failed allocation must be an
        // error, not the abort that `vec![0; len]` would be.
        let mut data = Vec::new();
        data.try_reserve_exact(len)
            .map_err(|_| StoreError::Unavailable(file_size))?;
        data.resize(len, 0);
        Ok(Self {
            data: RefCell::new(data),
        })
    }

    fn span(&self, offset: u64, len: u64) -> Result<std::ops::Range<usize>, StoreError> {
        let start = usize::try_from(offset).map_err(|_| StoreError::Js("offset".into()))?;
        let end = usize::try_from(offset + len).map_err(|_| StoreError::Js("offset".into()))?;
        if end > self.data.borrow().len() {
            return Err(StoreError::Js(format!("write past the end at {offset}")));
        }
        Ok(start..end)
    }

    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let span = self.span(offset, bytes.len() as u64)?;
        self.data.borrow_mut()[span].copy_from_slice(bytes);
        Ok(())
    }

    pub fn read(&self, offset: u64, len: u64) -> Result<Arc<[u8]>, StoreError> {
        let span = self.span(offset, len)?;
        Ok(Arc::from(&self.data.borrow()[span]))
    }

    pub fn to_file(&self, name: &str) -> Result<web_sys::File, StoreError> {
        let data = self.data.borrow();
        let array = js_sys::Uint8Array::from(data.as_slice());
        let parts = js_sys::Array::of1(&array);
        let opts = web_sys::FilePropertyBag::new();
        opts.set_type("application/octet-stream");
        web_sys::File::new_with_u8_array_sequence_and_options(&parts, name, &opts)
            .map_err(StoreError::js)
    }
}
