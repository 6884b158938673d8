# seqsal: `make demo` and `make test` work on a fresh machine with nothing installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --constraint constraints.txt
DEMO_OUT := demo_out

.PHONY: demo test install install-test model bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) torch==2.13.0
	$(PIP) -e '.[motifs]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## demo: explain example enhancers with the bundled model; writes reports under demo_out/
demo: install
	rm -rf $(DEMO_OUT)
	$(BIN)/seqsal explain data/synthetic_demo/test.fa --model default --method saliency,grad_x_input \
		--correct --motifs GATA1,FOS::JUN,ETS1,CREB1,SP1 --motif-threshold 0.6 --logos 4 --seqlets \
		--truth data/synthetic_demo/planted.tsv --out $(DEMO_OUT)/synthetic
	$(BIN)/seqsal evaluate $(DEMO_OUT)/synthetic --masks data/synthetic_demo/masks.npz \
		--checks deletion,plausibility --out $(DEMO_OUT)/synthetic_evaluation
	$(BIN)/seqsal explain data/deepstarr_example_enhancers.fa --model default --method grad_x_input \
		--correct --logos 2 --out $(DEMO_OUT)/deepstarr
	$(BIN)/seqsal predict data/deepstarr_example_enhancers.fa --model default > $(DEMO_OUT)/deepstarr_predictions.tsv
	@echo "demo done: open $(DEMO_OUT)/synthetic/report.html, $(DEMO_OUT)/synthetic_evaluation/report.html" \
		"and $(DEMO_OUT)/deepstarr/report.html"

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

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
