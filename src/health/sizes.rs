//! The size of a backup: the sizes of its files summed, read page by page from its file list.
//! KooDrive has no call for a record's size, so each one costs a listing of its files.
//! [`RecordSize::after_page`] is the one place a page is added to a record's size, and
//! [`read_size`] the one place a record's whole file list is read for it; the app's Devices
//! view and `status --sizes` read many through `crate::size_cache::read_through`, past the
//! sizes the cache already knows, at the bulk engine's adaptive pace.

use futures::StreamExt;

use crate::api::{BackupFile, Client, DEFAULT_MAX_PAGES, Page};

/// Files asked for per request while sizes are read.
pub const SIZE_PAGE_SIZE: u32 = 100;
/// File lists read at once at most while sizes are read (the pace adapts below it: slow start,
/// halved when the server pushes back).
pub const SIZE_CEILING: usize = 64;

/// How far the total size of one record's files is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordSize {
    /// Pages read so far add up to this; the next one starts at the cursor.
    Partial {
        bytes: u64,
        cursor: String,
    },
    Known(u64),
    /// Its files could not be listed.
    Unknown,
}

impl RecordSize {
    /// The size once one more page of the record's file list has been read (`previous`: what
    /// the pages before it added up to).
    pub fn after_page(previous: Option<&RecordSize>, page: &Page<BackupFile>) -> RecordSize {
        let so_far = match previous {
            Some(RecordSize::Partial { bytes, .. }) => *bytes,
            _ => 0,
        };
        let bytes = page
            .items
            .iter()
            .fold(so_far, |sum, file| sum.saturating_add(file.size));
        match &page.next_cursor {
            Some(cursor) => RecordSize::Partial {
                bytes,
                cursor: cursor.clone(),
            },
            None => RecordSize::Known(bytes),
        }
    }

    /// The whole size, once known.
    pub fn known(&self) -> Option<u64> {
        match self {
            RecordSize::Known(bytes) => Some(*bytes),
            RecordSize::Partial { .. } | RecordSize::Unknown => None,
        }
    }
}

/// The whole size of one record: its file list read page by page to its end;
/// [`RecordSize::Unknown`] when a page cannot be read.
pub async fn read_size(client: &Client, record_id: &str) -> RecordSize {
    let mut size = None;
    let mut pages = std::pin::pin!(client.file_pages(record_id, SIZE_PAGE_SIZE, DEFAULT_MAX_PAGES));
    while let Some(page) = pages.next().await {
        size = Some(match page {
            Ok(page) => RecordSize::after_page(size.as_ref(), &page),
            Err(_) => RecordSize::Unknown,
        });
    }
    size.unwrap_or(RecordSize::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64) -> BackupFile {
        BackupFile {
            file_id: "f".into(),
            file_name: "f.bin".into(),
            sha256: None,
            size,
            description: None,
            create_time: None,
        }
    }

    #[test]
    fn pages_add_up_until_the_last_one() {
        let first = Page::new(vec![file(1000), file(24)], Some("c".into()));
        let partial = RecordSize::after_page(None, &first);
        assert_eq!(
            partial,
            RecordSize::Partial {
                bytes: 1024,
                cursor: "c".into()
            }
        );
        assert_eq!(partial.known(), None);
        let last = Page::new(vec![file(u64::MAX)], None);
        assert_eq!(
            RecordSize::after_page(Some(&partial), &last),
            RecordSize::Known(u64::MAX),
            "a hostile size saturates instead of wrapping"
        );
        assert_eq!(
            RecordSize::after_page(Some(&RecordSize::Unknown), &Page::new(vec![file(5)], None)).known(),
            Some(5)
        );
    }
}
