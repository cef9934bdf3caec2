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
    assert_eq!(store.read_piece(1).await.unwrap(), &data[start..start * 2]);
    let file = store.to_file("out.bin").await.expect("to_file");
    assert_eq!(file.size() as usize, data.len());
    assert_eq!(file_contents(&file).await, data);
    store.remove().await;
}

#[wasm_bindgen_test]
async fn opfs_store_round_trips_a_file_with_a_short_last_piece() {
    let data = file_bytes(5 * PIECE as usize + 123);
    let layout = Layout {
        file_size: data.len() as u64,
        piece_size: PIECE,
    };
    let store = PieceStore::open("test-opfs", layout, 0)
        .await
        .expect("OPFS");
    assert_eq!(store.kind(), StoreKind::Opfs);
    round_trip(store, &data).await;
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
    assert_eq!(store.read_piece(2).await.unwrap(), vec![9; 10]);
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

/// The names in `edgeswarm/tmp/<name>` (OPFS), sorted, comma-separated.
async fn tmp_dir_names(name: &str) -> String {
    let list = js_sys::Function::new_with_args(
        "name",
        "return (async () => {
            let d = await navigator.storage.getDirectory();
            for (const n of ['edgeswarm', 'tmp', name]) d = await d.getDirectoryHandle(n);
            const names = [];
            for await (const [n] of d.entries()) names.push(n);
            return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join(',');
        })()",
    );
    let p: js_sys::Promise = list
        .call1(&wasm_bindgen::JsValue::NULL, &name.into())
        .expect("list")
        .into();
    JsFuture::from(p).await.expect("names").as_string().unwrap()
}

/// All pieces written at once, as the session does: they go through the
/// worker's sync access handles, land whole, and leave no `.part` file.
#[wasm_bindgen_test]
async fn concurrent_writes_go_through_the_worker_and_land_whole() {
    let data = file_bytes(8 * PIECE as usize + 7);
    let layout = Layout {
        file_size: data.len() as u64,
        piece_size: PIECE,
    };
    let store = PieceStore::open("test-concurrent", layout, 0)
        .await
        .expect("OPFS");
    assert!(
        store.writes_in_worker(),
        "a worker with sync access handles"
    );
    let writes = (0..layout.piece_count()).map(|i| {
        let start = (u64::from(i) * PIECE) as usize;
        let end = (start + PIECE as usize).min(data.len());
        store.write_piece(i, start as u64, Arc::from(&data[start..end]))
    });
    for r in futures_util::future::join_all(writes).await {
        r.expect("write");
    }
    assert!(store.writes_in_worker(), "the worker did not fail");
    assert_eq!(
        tmp_dir_names("test-concurrent").await,
        "0,1,2,3,4,5,6,7,8",
        "one file per piece, no leftovers"
    );
    let file = store.to_file("out.bin").await.expect("to_file");
    assert_eq!(file_contents(&file).await, data);
    store.remove().await;
}

/// Without `Worker` (some embedders), pieces are written on this thread.
#[wasm_bindgen_test]
async fn without_workers_pieces_are_written_on_this_thread() {
    let global = js_sys::global();
    let key = wasm_bindgen::JsValue::from_str("Worker");
    let original = js_sys::Reflect::get(&global, &key).expect("Worker");
    assert!(js_sys::Reflect::delete_property(&global.clone(), &key).unwrap());
    let data = file_bytes(3 * PIECE as usize);
    let layout = Layout {
        file_size: data.len() as u64,
        piece_size: PIECE,
    };
    let opened = PieceStore::open("test-no-worker", layout, 0).await;
    js_sys::Reflect::set(&global, &key, &original).expect("restore Worker");
    let store = opened.expect("OPFS");
    assert!(!store.writes_in_worker(), "no worker could start");
    round_trip(store, &data).await;
}

/// A piece is servable the moment its write starts: a read racing the
/// worker's write gets the bytes (from the pending map), and the same bytes
/// after the write landed (from OPFS).
#[wasm_bindgen_test]
async fn a_piece_is_readable_while_its_worker_write_is_pending() {
    let data = file_bytes(2 * PIECE as usize);
    let layout = Layout {
        file_size: data.len() as u64,
        piece_size: PIECE,
    };
    let store = PieceStore::open("test-pending", layout, 0)
        .await
        .expect("OPFS");
    assert!(store.writes_in_worker());
    let piece = &data[PIECE as usize..];
    let write = store.write_piece(1, PIECE, Arc::from(piece));
    let read = async { store.read_piece(1).await };
    // `join` polls the write first: it is pending when the read runs.
    let (written, during) = futures_util::future::join(write, read).await;
    written.expect("write");
    assert_eq!(during.expect("read during the write"), piece);
    assert_eq!(store.read_piece(1).await.expect("read after"), piece);
    assert!(matches!(
        store.read_piece(0).await,
        Err(StoreError::Missing(0))
    ));
    store.remove().await;
}
