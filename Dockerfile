# pcviz dashboard image.
#   docker build -t pcviz .
#   docker run --rm -p 8501:8501 pcviz            # then open http://localhost:8501
# GPU (NVIDIA driver and the NVIDIA Container Toolkit on the host):
#   docker build --build-arg JAX_CUDA=cuda12 -t pcviz:gpu .
#   docker run --rm --gpus all -p 8501:8501 pcviz:gpu
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Fashion-MNIST from Debian: IDX files in /usr/share/datasets/fashion-mnist (pcviz's default).
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The locked dependencies, every file checked against its hash (a layer that changes only when
# the lock does).
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

# Optional: JAX's CUDA wheels (CUDA itself comes as pip packages), same JAX version.
ARG JAX_CUDA=""
RUN if [ -n "$JAX_CUDA" ]; then \
        pip install "jax[${JAX_CUDA}]==$(python -c 'import jax; print(jax.__version__)')"; \
    fi

COPY . .
# pcviz itself (the `pcviz` command), its dependencies already installed from the lock; g++
# compiles the engine's fused CPU kernel and is removed again.
RUN apt-get update && apt-get install -y --no-install-recommends g++ \
    && pip install --no-deps --no-build-isolation . \
    && apt-get purge -y --auto-remove g++ && rm -rf /var/lib/apt/lists/*

# Run as an unprivileged user; the app's files stay read-only to it. Its home holds JAX's
# persistent compilation cache (~/.cache/pcviz/jax), so restarts compile nothing twice.
# /cache/jax, its own, is where compose.yaml mounts the cache that all replicas share
# (PCVIZ_JAX_CACHE=/cache/jax): a new named volume takes this folder's owner.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin pcviz \
    && mkdir -p /cache/jax && chown pcviz:pcviz /cache/jax
USER pcviz

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
