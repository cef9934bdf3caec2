use std::sync::Arc;

use client_wasm::store::{Layout, PieceStore, StoreError, StoreKind};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

const PIECE: u64 = 16 * 1024;

fn file_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

async fn file_contents(f: &web_sys::File) -> Vec<u8> {
    let buf = JsFuture::from(f.array_buffer()).await.expect("arrayBuffer");
    js_sys::Uint8Array::new(&buf).to_vec()
}

/// Writes every piece (out of order), reads them back and assembles.
async fn round_trip(store: PieceStore, data: &[u8]) {
    let layout = store.layout();
    let n = layout.piece_count();
    for index in (0..n).rev() {
        let start = (u64::from(index) * PIECE) as usize;
        let end = (start + PIECE as usize).min(data.len());
        store
            .write_piece(index, start as u64, Arc::from(&data[start..end]))
            .await
            .expect("write");
    }
    let start = PIECE as usize;
    assert_eq!(
        &*store.read_piece(1).await.unwrap(),
        &data[start..start * 2]
    );
    let file = store.to_file("out.bin").await.expect("to_file");
    assert_eq!(file.size() as usize, data.len());
    assert_eq!(file_contents(&file).await, data);
    store.remove().await;
}

/// A fresh OPFS store named `name` for `data`, in `PIECE`-sized pieces.
async fn opfs_store(name: &str, data: &[u8]) -> PieceStore {
    let layout = Layout {
        file_size: data.len() as u64,
        piece_size: PIECE,
    };
    let store = PieceStore::open(name, layout, 0).await.expect("OPFS");
    assert_eq!(store.kind(), StoreKind::Opfs);
    store
}

#[wasm_bindgen_test]
async fn opfs_store_round_trips_a_file_with_a_short_last_piece() {
    let data = file_bytes(5 * PIECE as usize + 123);
    round_trip(opfs_store("test-opfs", &data).await, &data).await;
}

#[wasm_bindgen_test]
async fn opfs_pieces_written_at_once_each_keep_their_own_bytes() {
    // The store reuses its write buffers: pieces in flight together must
    // never share one, and a reused buffer longer than a piece must not
    // leak its tail into it.
    let data = file_bytes(9 * PIECE as usize + 77);
    let store = opfs_store("test-opfs-at-once", &data).await;
    for round in [0..5u32, 5..10] {
        let writes = round.map(|index| {
            let start = (u64::from(index) * PIECE) as usize;
            let end = (start + PIECE as usize).min(data.len());
            store.write_piece(index, start as u64, Arc::from(&data[start..end]))
        });
        for r in futures_util::future::join_all(writes).await {
            r.expect("write");
        }
    }
    let file = store.to_file("out.bin").await.expect("to_file");
    assert_eq!(file_contents(&file).await, data);
    store.remove().await;
}

#[wasm_bindgen_test]
async fn memory_store_round_trips_too() {
    let data = file_bytes(3 * PIECE as usize);
    let layout = Layout {
        file_size: data.len() as u64,
        piece_size: PIECE,
    };
    let store = PieceStore::in_memory(layout).expect("memory");
    assert_eq!(store.kind(), StoreKind::Memory);
    round_trip(store, &data).await;
}

#[wasm_bindgen_test]
async fn wrong_length_offset_and_out_of_range_pieces_are_refused() {
    let layout = Layout {
        file_size: 2 * PIECE + 10,
        piece_size: PIECE,
    };
    let store = PieceStore::open("test-refuse", layout, 0)
        .await
        .expect("OPFS");
    let err = store
        .write_piece(0, 0, Arc::from(vec![0u8; 10]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongLength { index: 0, .. }));
    let err = store
        .write_piece(3, 3 * PIECE, Arc::from(vec![0u8; 10]))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::OutOfRange(3));
    // The engine's offset and the layout must agree (an enlarged simple-mode
    // chunk that the store placed elsewhere would corrupt the file).
    let err = store
        .write_piece(1, 2 * PIECE, Arc::from(vec![0u8; PIECE as usize]))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::WrongOffset {
            index: 1,
            got: 2 * PIECE,
            want: PIECE
        }
    );
    assert_eq!(
        store.read_piece(1).await.unwrap_err(),
        StoreError::Missing(1)
    );
    store
        .write_piece(2, 2 * PIECE, Arc::from(vec![9u8; 10]))
        .await
        .expect("short last piece");
    assert_eq!(&*store.read_piece(2).await.unwrap(), &[9; 10][..]);
    store.remove().await;
}

/// Hides `StorageManager.prototype.getDirectory` (as in browsers without OPFS)
/// for the duration of `f`.
async fn without_opfs<F: std::future::Future<Output = ()>>(f: F) {
    let proto = js_sys::Reflect::get(&js_sys::global(), &"StorageManager".into())
        .and_then(|c| js_sys::Reflect::get(&c, &"prototype".into()))
        .expect("StorageManager.prototype");
    let key = wasm_bindgen::JsValue::from_str("getDirectory");
    let original = js_sys::Reflect::get(&proto, &key).expect("getDirectory");
    assert!(js_sys::Reflect::delete_property(&proto.clone().into(), &key).unwrap());
    f.await;
    js_sys::Reflect::set(&proto, &key, &original).expect("restore getDirectory");
}

#[wasm_bindgen_test]
async fn without_opfs_small_files_fall_back_to_memory_and_large_ones_fail() {
    without_opfs(async {
        let data = file_bytes(2 * PIECE as usize);
        let layout = Layout {
            file_size: data.len() as u64,
            piece_size: PIECE,
        };
        let store = PieceStore::open("test-fallback", layout, 1024 * 1024)
            .await
            .expect("memory fallback");
        assert_eq!(store.kind(), StoreKind::Memory, "flagged as memory");
        round_trip(store, &data).await;

        let big = Layout {
            file_size: 4 * 1024 * 1024,
            piece_size: PIECE,
        };
        let err = PieceStore::open("test-too-big", big, 1024 * 1024)
            .await
            .err()
            .expect("too large for memory");
        assert_eq!(err, StoreError::Unavailable(4 * 1024 * 1024));
    })
    .await;
}
