//! The share link as an SVG QR code, rendered in the browser (never by a
//! third party). A separate WebAssembly module from `wasm-core` so the
//! upload page loads it only once there is a link to show (it is about a
//! sixth of the page's wasm).
#![forbid(unsafe_code)]

use wasm_bindgen::prelude::*;

/// `text` as an SVG QR code (error correction M, at least 200 px).
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000"))
        .light_color(qrcode::render::svg::Color("#fff"))
        .build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_an_svg_and_refuses_what_does_not_fit() {
        let svg =
            super::qr_svg("https://veil.example/d/AAAAAAAAAAAAAAAAAAAAAA#x").unwrap_or_default();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    }
}
