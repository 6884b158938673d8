# seqsal: `make demo` and `make test` work on a fresh machine with nothing installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --constraint constraints.txt
DEMO_OUT := demo_out

.PHONY: demo test install install-test model model-pu1 model-wtc11 bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) torch==2.13.0
	$(PIP) -e '.[motifs]'
	@echo "compiling memelite's Tomtom once for this environment (numba caches it; about a minute)"
	$(BIN)/python -c "import numpy as np; from memelite import tomtom; m = [np.full((4, 8), 0.25)]; tomtom(m, m)"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## demo: explain synthetic enhancers with the default model and held-out PU.1 peaks with the pu1 model;
## writes reports under demo_out/
demo: install
	rm -rf $(DEMO_OUT)
	$(BIN)/seqsal explain data/synthetic_demo/test.fa --model default --method saliency,grad_x_input \
		--correct --motifs GATA1,FOS::JUN,ETS1,CREB1,SP1 --motif-threshold 0.6 --logos 4 --seqlets \
		--truth data/synthetic_demo/planted.tsv --out $(DEMO_OUT)/synthetic
	$(BIN)/seqsal evaluate $(DEMO_OUT)/synthetic --masks data/synthetic_demo/masks.npz \
		--checks deletion,plausibility --out $(DEMO_OUT)/synthetic_evaluation
	$(BIN)/seqsal explain data/pu1_heldout.fa --model pu1 --method grad_x_input,ism --correct \
		--motifs SPI1 --motif-threshold 0.7 --logos 4 --seqlets --out $(DEMO_OUT)/pu1
	@echo "demo done: open $(DEMO_OUT)/synthetic/report.html, $(DEMO_OUT)/synthetic_evaluation/report.html" \
		"and $(DEMO_OUT)/pu1/report.html (held-out PU.1 peaks)"

## test: the whole test suite (slow scientific checks included)
test: install-test
	$(BIN)/python -m pytest -q

## model: rebuild the bundled default model from a seeded synthetic set (documented in README)
model: install
	rm -rf build/synth
	$(BIN)/seqsal simulate --out build/synth --n 20000 --length 249 --seed 1
	$(BIN)/seqsal train --fasta build/synth/train.fa --labels build/synth/labels.tsv \
		--valid-fasta build/synth/valid.fa --test-fasta build/synth/test.fa \
		--activation exp --head gap --augment-rc --seed 1 --out seqsal/default_model.pt

## model-pu1: the bundled PU.1 model (README model card): peaks vs dinucleotide shuffles, chr8/chr9 held out
model-pu1: install
	$(BIN)/seqsal train --threads 1 --pos data/pu1_peaks.fa.gz --neg shuffle \
		--valid-chroms chr7,chr10 --test-chroms chr8,chr9 \
		--channels 64,32,32 --kernels 11,5,5 --dense 64 --dropout 0.2 --activation exp --head flatten \
		--epochs 3 --patience 1 --batch-size 256 --seed 1 \
		--description "PU.1 (SPI1) ChIP-seq peaks (human, 100 bp) vs dinucleotide-shuffled copies; test chr8, chr9" \
		--out seqsal/pu1_model.pt

## model-wtc11: the lentiMPRA CNN of the README's wtc11 card (trained+validated on fold 2, tested on fold 1;
## validation by element, both orientations together; reverse-complement augmentation of the insert only).
## Not bundled: on the test fold it loses to a 1-6-mer ridge, whose numbers are saved next to its own.
model-wtc11: install
	mkdir -p build
	$(BIN)/seqsal train --threads 1 --table data/lentimpra_wtc11_valid.tsv.gz --sequence-column seq \
		--target-column mean_value --test-table data/lentimpra_wtc11_test.tsv.gz --valid-fraction 0.1 \
		--group-reverse-complements \
		--channels 64,32,32 --kernels 11,5,5 --dense 64 --dropout 0.3 --activation relu --head gap \
		--epochs 25 --patience 4 --augment-rc --rc-keep-flanks --seed 1 \
		--description "lentiMPRA activity (log2 RNA/DNA) of 230-bp human elements in WTC11 cells; trained on fold 2, tested on fold 1" \
		--out build/wtc11_model.pt

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
