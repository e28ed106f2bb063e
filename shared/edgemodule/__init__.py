"""A wasm module as both sides read it: sections, inspection, the claims check and the fit."""
