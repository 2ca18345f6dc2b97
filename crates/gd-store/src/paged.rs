//! [`range_all`]: a prefix read a page at a time. One answer of etcd holds at most 4 MiB (its
//! gRPC limit), so a prefix whose keys add up to more — ten thousand volume records, the
//! status of thirty thousand bricks — cannot be read in one range; a read that must see all
//! of it pages.

use crate::{KeyValue, Store, StoreResult};

/// Every key under `prefix`, in key order, read `page` keys at a time (each page a range of
/// its own: a listing, not a snapshot of one revision).
pub async fn range_all(store: &dyn Store, prefix: &str, page: usize) -> StoreResult<Vec<KeyValue>> {
    let page = page.max(1);
    let mut all = store.range(prefix, page).await?;
    let mut kvs = std::mem::take(&mut all.kvs);
    let mut more = all.more;
    while more {
        let Some(after) = kvs
            .last()
            .and_then(|kv| kv.key.strip_prefix(prefix))
            .map(str::to_owned)
        else {
            break;
        };
        let next = store.range_after(prefix, &after, page).await?;
        more = next.more && !next.kvs.is_empty();
        kvs.extend(next.kvs);
    }
    Ok(kvs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalStore;

    #[tokio::test]
    async fn every_key_in_order_whatever_the_page() {
        let store = LocalStore::open_in_memory().await.unwrap();
        for i in 0..25 {
            store
                .put(&format!("a/{i:02}"), vec![1], None)
                .await
                .unwrap();
        }
        store.put("b/0", vec![1], None).await.unwrap();
        for page in [1, 7, 25, 100] {
            let keys: Vec<String> = range_all(&*store, "a/", page)
                .await
                .unwrap()
                .into_iter()
                .map(|kv| kv.key)
                .collect();
            let want: Vec<String> = (0..25).map(|i| format!("a/{i:02}")).collect();
            assert_eq!(keys, want, "page {page}");
        }
        assert!(range_all(&*store, "c/", 10).await.unwrap().is_empty());
    }
}
