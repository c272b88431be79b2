"""The GPU worker's AI pipeline: parse exports, embed, cluster, link, label, assemble the graph.

Nothing heavy is imported here, so ``import tasks.pipeline.<module>`` stays cheap; torch,
sentence-transformers, faiss and hdbscan load only inside the functions that use them.
"""

import os

# OpenMP threads (torch, scikit-learn, faiss) that finish early spin at each barrier, by
# default, waiting for the others. On a CPU shared with other processes a spinning thread
# holds a core its partner needs: MiniLM encoded 5-8x slower on 2 busy cores (measured, 512
# terms: 10.8 s spinning, 1.3 s passive). Sleeping at barriers costs little when the CPU is
# free. Set before torch or scikit-learn load their OpenMP runtime; an operator's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
