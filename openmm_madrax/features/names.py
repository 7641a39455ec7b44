"""Names, units and defaults of the features (the last axis of ``Features.frames``)."""
from __future__ import annotations

from ..params import CHANNELS

#: per-residue features, in the order of the last axis of :attr:`Features.frames`
INTER_CHANNELS = tuple(f"inter_{c}" for c in CHANNELS)
ENERGY_FEATURES = (*CHANNELS, "madrax_total", *INTER_CHANNELS, "inter_total")
DESCRIPTOR_FEATURES = ("burial", "hb_donor_sat", "hb_acceptor_sat", "hb_buried_unsat", "sasa", "rsasa",
                       "contacts", "contacts_inter", "ss_helix", "ss_strand", "ss_coil")
RESIDUE_FEATURES = ENERGY_FEATURES + DESCRIPTOR_FEATURES
CHAIN_FEATURES = ("rg", "end_to_end")
#: one-hot secondary structure: only the mean (a fraction of frames) is reported
SS_FEATURES = ("ss_helix", "ss_strand", "ss_coil")
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
CONTACT_CUTOFF = 4.5
BURIED = 0.5
UNITS = {**{f: "kcal/mol" for f in ENERGY_FEATURES}, "burial": "0-1", "hb_donor_sat": "fraction",
         "hb_acceptor_sat": "fraction", "hb_buried_unsat": "atoms", "sasa": "A^2", "rsasa": "0-1",
         "contacts": "residues", "contacts_inter": "residues", "ss_helix": "fraction", "ss_strand": "fraction",
         "ss_coil": "fraction", "rg": "A", "end_to_end": "A"}
