"""Plotly 3-D figures for the point-cloud tabs: a cloud as a scatter in a fixed cube, so a streamed sequence of
clouds reads as one shape morphing rather than a camera zooming."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

EXTENT = 1.15  # the clouds are normalised to the unit sphere; latent points stray a little beyond it


def cloud_figure(points: np.ndarray, title: str, color: str | np.ndarray = "#3b5bdb", height: int = 460) -> go.Figure:
    """One cloud (N, 3), y up, in the cube [-EXTENT, EXTENT]^3, coloured by a fixed colour or per point."""
    p = np.asarray(points, dtype=np.float32)
    marker = dict(size=2.2, color=color, opacity=0.9)
    if not isinstance(color, str):
        marker.update(colorscale="Viridis", cmin=-1, cmax=1)
    fig = go.Figure(go.Scatter3d(x=p[:, 0], y=p[:, 2], z=p[:, 1], mode="markers", marker=marker, hoverinfo="skip"))
    axis = dict(range=[-EXTENT, EXTENT], showticklabels=False, title="", showbackground=True,
                backgroundcolor="#f8f9fa", gridcolor="#dee2e6")
    fig.update_layout(
        title=dict(text=title, x=0.02, y=0.97, font=dict(size=13)),
        height=height,
        margin=dict(l=0, r=0, t=30, b=0),
        scene=dict(xaxis=axis, yaxis=axis, zaxis=axis, aspectmode="cube",
                   camera=dict(eye=dict(x=1.45, y=-1.45, z=0.9), up=dict(x=0, y=0, z=1))),
        uirevision="keep",  # the user's rotation survives every streamed update
        showlegend=False,
    )
    return fig
