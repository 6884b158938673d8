#!/bin/bash
# Real tfmodisco-lite run on a bundle explained from peaks on a genome built of the synthetic positives.
set -euo pipefail
# Usage: bash benchmarks/check_modisco_coords.sh [WORKDIR]  (needs seqsal[genome,modisco]; about a minute)
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK" && cd "$WORK"
export REPO
PY=${PYTHON:-python}
$PY - <<'PY'
import os
import numpy as np, pandas as pd
from seqsal.io import read_fasta
labels = pd.read_csv(os.environ["REPO"] + "/data/synthetic_demo/labels.tsv", sep="\t").set_index("id")
records = [r for f in ("train", "valid", "test") for r in read_fasta(f"{os.environ['REPO']}/data/synthetic_demo/{f}.fa")]
positives = [r for r in records if labels.loc[r.id, "label"] == 1][:150]
rng = np.random.default_rng(0)
chroms, bed = {}, []
for c in range(3):
    parts, pos = [], 0
    for k, r in enumerate(positives[c::3]):
        spacer = "".join(rng.choice(list("ACGT"), 100)); parts.append(spacer); pos += 100
        seq = r.sequence
        strand = "-" if k % 2 else "+"
        if strand == "-":  # store the reverse complement: --stranded reads it back as the original
            seq = seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]
        parts.append(seq); bed.append((f"chr{c+1}", pos, pos + len(seq), r.id, 0, strand)); pos += len(seq)
    parts.append("".join(rng.choice(list("ACGT"), 100)))
    chroms[f"chr{c+1}"] = "".join(parts)
with open("genome.fa", "w") as f:
    for n, s in chroms.items():
        f.write(f">{n}\n" + "\n".join(s[i:i+60] for i in range(0, len(s), 60)) + "\n")
pd.DataFrame(bed).to_csv("peaks.bed", sep="\t", header=False, index=False)
PY
$PY -m seqsal.cli explain --bed peaks.bed --genome genome.fa --stranded --model default --method grad_x_input --correct --logos 0 --out bundle --quiet --threads 1
NUMBA_NUM_THREADS=1 modisco motifs -s bundle/ohe.npz -a bundle/attr.grad_x_input.npz -n 2000 -w 240 -o modisco.h5
$PY -m seqsal.cli modisco-coords modisco.h5 bundle --out seqlets.bed
$PY - <<'PY'
import h5py, numpy as np, pandas as pd
from seqsal.encoding import decode, reverse_complement
genome = {}
for line in open("genome.fa"):
    if line.startswith(">"): name = line[1:].strip(); genome[name] = []
    else: genome[name].append(line.strip())
genome = {k: "".join(v) for k, v in genome.items()}
bed = pd.read_csv("seqlets.bed", sep="\t", header=None, names=["chrom", "start", "end", "name", "score", "strand"])
# each seqlet's own bases, as modisco stored them, must be the genome bases at its BED interval (on its strand)
with h5py.File("modisco.h5") as f:
    stored = []
    for group in ("pos_patterns", "neg_patterns"):
        for name, p in f.get(group, {}).items():
            s = p["seqlets"]
            for seq in s["sequence"][:]:
                stored.append((f"{group}.{name}", decode(np.asarray(seq).T[None])[0]))
on_genome = []
for r in bed.itertuples():
    bases = genome[r.chrom][r.start:r.end]
    on_genome.append((r.name, reverse_complement(bases) if r.strand == "-" else bases))
print("seqlets in h5:", len(stored), "BED rows:", len(bed))
print("every stored seqlet found on the genome at its BED interval:", sorted(stored) == sorted(on_genome))
print(bed.groupby("name").size().to_string())
PY
