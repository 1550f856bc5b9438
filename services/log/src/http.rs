//! The public HTTP face of the log in the C2SP tlog-tiles layout, merged into the public port:
//! `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]` (hash tiles of height 8) and
//! `GET /tile/entries/<N>[.p/<W>]` (entry bundles: each leaf's 32-byte event hash after its
//! big-endian u16 length).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sanxiang_domain::Error;

use crate::Log;

/// Which tile a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    /// Tile level; `None` for an entry bundle.
    pub level: Option<u8>,
    /// Tile index.
    pub n: u64,
    /// Width (1–256).
    pub width: u64,
}

/// Parses the part of a tile path after `tile/`.
pub fn parse_tile_path(path: &str) -> Option<TilePath> {
    let (first, rest) = path.split_once('/')?;
    let level = if first == "entries" {
        None
    } else {
        if first.len() != 1 && first.starts_with('0') {
            return None;
        }
        Some(first.parse::<u8>().ok().filter(|l| *l < 8)?)
    };
    let (index, width) = match rest.split_once(".p/") {
        Some((index, w)) => {
            if w.starts_with('0') {
                return None;
            }
            let w: u64 = w.parse().ok()?;
            if !(1..256).contains(&w) {
                return None;
            }
            (index, w)
        }
        None => (rest, 256),
    };
    let parts: Vec<&str> = index.split('/').collect();
    let mut n: u64 = 0;
    for (k, part) in parts.iter().enumerate() {
        let digits = if k + 1 < parts.len() { part.strip_prefix('x')? } else { part };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(TilePath { level, n, width })
}

/// The path of a tile (after `tile/`), for clients.
pub fn tile_path(tile: TilePath) -> String {
    let mut n = tile.n;
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    let level = tile.level.map_or("entries".to_owned(), |l| l.to_string());
    if tile.width == 256 { format!("{level}/{s}") } else { format!("{level}/{s}.p/{}", tile.width) }
}

/// The routes; merged into the public HTTP router.
pub fn router(log: Log) -> Router {
    Router::new().route("/checkpoint", get(checkpoint)).route("/tile/{*path}", get(tile)).with_state(log)
}

fn failure(e: &Error) -> Response {
    let status = match e {
        Error::NotFound { .. } | Error::InvalidArgument { .. } => StatusCode::NOT_FOUND,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let text = match e {
        Error::Internal(_) => "internal error\n".to_owned(),
        other => format!("{other}\n"),
    };
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn checkpoint(State(log): State<Log>) -> Response {
    match log.public_checkpoint().await {
        Ok(cp) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], cp.note)
            .into_response(),
        Err(e) => failure(&e),
    }
}

async fn tile(State(log): State<Log>, Path(path): Path<String>) -> Response {
    let Some(t) = parse_tile_path(&path) else {
        return (StatusCode::NOT_FOUND, "not a tile path\n").into_response();
    };
    let data = match t.level {
        Some(level) => log.hash_tile(level, t.n, t.width).await,
        None => log.entry_bundle(t.n, t.width).await,
    };
    match data {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                // Tiles never change once served: full ones and partial ones of a given width alike.
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_round_trip() {
        for t in [
            TilePath { level: Some(0), n: 0, width: 256 },
            TilePath { level: Some(1), n: 1_234_067, width: 17 },
            TilePath { level: None, n: 999, width: 3 },
            TilePath { level: None, n: 1000, width: 256 },
        ] {
            assert_eq!(parse_tile_path(&tile_path(t)), Some(t), "{}", tile_path(t));
        }
        assert_eq!(tile_path(TilePath { level: Some(1), n: 1_234_067, width: 17 }), "1/x001/x234/067.p/17");
        for bad in ["0/1", "0/001.p/0", "0/001.p/256", "0/x001", "9/000", "0/1234", "entries/00a", "0/01/000"] {
            assert_eq!(parse_tile_path(bad), None, "{bad}");
        }
    }
}
