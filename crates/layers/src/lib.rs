//! `handprop-layers`: the arctan MLP and every gradient in it, written by hand (filled by the network work).
