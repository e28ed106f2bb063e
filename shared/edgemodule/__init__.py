"""A wasm module as both sides read it: sections, inspection, the claims check, the fit, and
the module region the board keeps modules in."""
