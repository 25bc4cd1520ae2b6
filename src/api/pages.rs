//! Walking a cursor-paginated list to its end, with a bound: a server that hands out a cursor
//! again (A, B, A, …) or an endless chain of new ones would otherwise keep the walk — and the
//! memory it fills — going forever.

use std::collections::HashSet;

use futures::Stream;

use super::error::ApiError;
use super::model::Page;

/// Pages a walk follows unless told otherwise: 100 000 records at the largest page size.
pub const DEFAULT_MAX_PAGES: usize = 1000;

/// A stream of pages produced by `fetch(cursor)`, following each page's `next_cursor`. Ends after
/// the last page or the first error. A cursor handed out twice, or a walk past `max_pages` pages,
/// ends it with an error after yielding the page that led there.
pub fn follow_cursors<T, F, Fut>(
    fetch: F,
    max_pages: usize,
) -> impl Stream<Item = Result<Page<T>, ApiError>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Page<T>, ApiError>> + Send + 'static,
{
    enum State {
        Next(Option<String>),
        Fail(ApiError),
        Done,
    }
    struct Walk<F> {
        state: State,
        seen: HashSet<String>,
        pages: usize,
        fetch: F,
    }
    let start = Walk {
        state: State::Next(None),
        seen: HashSet::new(),
        pages: 0,
        fetch,
    };
    futures::stream::unfold(start, move |mut walk| async move {
        let cursor = match std::mem::replace(&mut walk.state, State::Done) {
            State::Next(cursor) => cursor,
            State::Fail(error) => return Some((Err(error), walk)),
            State::Done => return None,
        };
        match (walk.fetch)(cursor).await {
            Ok(page) => {
                walk.pages += 1;
                walk.state = match &page.next_cursor {
                    Some(next) if !walk.seen.insert(next.clone()) => State::Fail(ApiError::Decode {
                        status: 200,
                        detail: "the server returned a nextCursor it had already returned, so the \
                                 listing would never end"
                            .into(),
                    }),
                    Some(_) if walk.pages >= max_pages => {
                        State::Fail(ApiError::TooManyPages { pages: walk.pages })
                    }
                    Some(next) => State::Next(Some(next.clone())),
                    None => State::Done,
                };
                Some((Ok(page), walk))
            }
            Err(e) => Some((Err(e), walk)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn page<T>(items: Vec<T>, next: &str) -> Page<T> {
        Page::new(items, Some(next.to_string()))
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_the_walk_with_an_error() {
        let pages: Vec<_> = follow_cursors(
            |cursor: Option<String>| async move { Ok(page(vec![cursor.clone()], "same")) },
            DEFAULT_MAX_PAGES,
        )
        .collect()
        .await;
        assert_eq!(pages.len(), 3, "{pages:?}");
        assert_eq!(pages[0].as_ref().unwrap().items, vec![None]);
        assert_eq!(pages[1].as_ref().unwrap().items, vec![Some("same".to_string())]);
        let err = pages[2].as_ref().unwrap_err();
        assert!(err.to_string().contains("already returned"), "{err}");
    }

    #[tokio::test]
    async fn a_cursor_cycle_ends_the_walk_with_an_error() {
        // A, B, A, B, ...: no cursor repeats back to back, but the walk would never end.
        let pages: Vec<_> = follow_cursors(
            |cursor: Option<String>| async move {
                let next = if cursor.as_deref() == Some("A") { "B" } else { "A" };
                Ok(page(vec![()], next))
            },
            DEFAULT_MAX_PAGES,
        )
        .take(10)
        .collect()
        .await;
        assert_eq!(pages.len(), 4, "{pages:?}");
        assert!(pages[..3].iter().all(Result::is_ok));
        assert!(
            pages[3]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("already returned")
        );
    }

    #[tokio::test]
    async fn an_endless_chain_of_new_cursors_stops_at_the_page_limit() {
        let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = fetched.clone();
        let pages: Vec<_> = follow_cursors(
            move |_cursor: Option<String>| {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { Ok(page(vec![n], &format!("cursor-{n}"))) }
            },
            5,
        )
        .take(100)
        .collect()
        .await;
        assert_eq!(pages.len(), 6, "five pages, then the error");
        assert!(pages[..5].iter().all(Result::is_ok));
        assert_eq!(
            pages[5].as_ref().unwrap_err(),
            &ApiError::TooManyPages { pages: 5 }
        );
        assert_eq!(
            fetched.load(std::sync::atomic::Ordering::SeqCst),
            5,
            "no sixth request"
        );
        // A walk that ends exactly at the limit is not an error.
        let exact: Vec<_> = follow_cursors(
            |cursor: Option<String>| async move {
                let n: usize = cursor.map_or(0, |c| c.parse().unwrap());
                let next = (n + 1 < 3).then(|| (n + 1).to_string());
                Ok(Page::new(vec![n], next))
            },
            3,
        )
        .collect()
        .await;
        assert_eq!(exact.len(), 3);
        assert!(exact.iter().all(Result::is_ok));
    }
}
