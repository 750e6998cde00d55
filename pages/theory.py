"""Linear theory: exactness of PC-ALM, stability, transient eigenvalues, dispersion."""

import streamlit as st

from pcviz import figures, theory, ui

st.title("Linear theory")
st.markdown(
    "In a **linear** network everything about inference can be computed exactly. Inference "
    "solves *minimise the loss subject to every layer matching its prediction* (rᵢ = 0). PC "
    "only penalises the mismatch, so it settles on a compromise and its gradient is never BP's; "
    "PC-ALM also learns a Lagrange multiplier λᵢ per layer, and at the solution λᵢ equals "
    "minus BP's adjoint δᵢ, so its weight gradient **is** BP's. Each singular mode σ of the "
    "constraint Jacobian evolves on its own: that gives the stability limits, the rotating "
    "eigenvalues and the wave speed below. Step sizes come from the sidebar."
)
model, rule, _ = ui.current_config()
sigma = ui.theory_controls()

st.subheader("Exactness: PC-ALM reaches BP's gradient, PC does not")
st.slider("Depth L of the small linear μPC net", *ui.THEORY_DEPTHS, key="theory_depth",
          persist_state="session", help="Width 16, one batch of 16; T up to 2000 L. "
          "Computed in float64 on the run service.")
exact = ui.theory_exactness(st.session_state["theory_depth"], rule)
if exact is not None:
    exact_fig = figures.exactness_plot(exact.steps, exact.errors)
    st.plotly_chart(exact_fig, key="theory-exactness")
    last = {r: v[-1] for r, v in exact.errors.items()}
    left, right = st.columns(2)
    left.metric(f"PC-ALM at T = {exact.steps[-1]}", f"{last['pcalm']:.1e}",
                help="Relative error ‖g − g_BP‖ / ‖g_BP‖ of the weight gradient.")
    right.metric(f"PC at T = {exact.steps[-1]}", f"{last['pc']:.1e}")
    st.caption(ui.exactness_note(exact, rule))
ui.explain(
    "PC-ALM's inference is a saddle-point search for the Karush-Kuhn-Tucker point of the "
    "constrained problem. When it is stable it converges there, the states return to the "
    "forward pass and the multipliers become BP's adjoints: the weight update is exactly "
    "BP's, down to float precision. PC's penalty leaves a residual error that no number of "
    "steps removes.",
    r"\min_h \ell(\hat y(h_{L-1}), y)\ \text{ s.t. } r_i = 0"
    r"\quad\Longrightarrow\quad \lambda_i^\star = -\delta_i,\quad"
    r"\nabla_W \mathcal L_\rho(h^\star, \lambda^\star) = \nabla_W \ell",
)

p = ui.theory_point(model.depth, rule, sigma)
st.subheader("Stability region")
st.radio("Largest singular value σ_max", ("chain", "limit"), key="sigma", horizontal=True,
         persist_state="session", format_func=ui.sigma_labels(model.depth).get)
etas, alphas, stable = theory.stability_grid(p)
stab_fig = figures.stability_plot(etas, alphas, stable, point=(p.eta, p.alpha), rho=p.rho,
                                  sigma_max=p.sigma_max)
st.plotly_chart(stab_fig, key="theory-stability")
setting = f"{ui.eta_note(p, depth=model.depth, sigma=sigma)}, α = {p.alpha:g}, ρ = {p.rho:g}"
if bool(theory.is_stable(p.sigma_max, eta=p.eta, rho=p.rho, alpha=p.alpha)):
    st.success(f"Your setting ({setting}) is stable.")
else:
    st.warning(f"Your setting ({setting}) is unstable: lower η_h or α in the sidebar until the "
               "point is inside the blue region.")
ui.explain(
    "Project one inference step of PC-ALM on a singular mode σ of the constraint Jacobian A "
    "(s = σ²): the error r and the multiplier λ of that mode obey a 2 × 2 linear map. It "
    "contracts when both conditions hold; the largest σ is the hardest mode. In a deep "
    "residual chain σ_max → 2, which is why η_h ≈ 1/4 is the default.",
    r"\begin{pmatrix} r \\ \lambda \end{pmatrix}_{t+1} = \begin{pmatrix} 1 - \eta_h\rho s & "
    r"-\eta_h s \\ \alpha(1 - \eta_h\rho s) & 1 - \alpha\eta_h s \end{pmatrix}"
    r"\begin{pmatrix} r \\ \lambda \end{pmatrix}_{t}",
    r"\eta_h\,\sigma^2(2\rho + \alpha) < 4 \qquad\text{and}\qquad \eta_h\,\rho\,\sigma^2 < 2",
)

st.subheader("Transient eigenvalues")
sigmas, mu = theory.chain_eigenvalues(model.depth, p)
eig_fig = figures.eigenvalue_plot(mu, eta=p.eta, rho=p.rho, sigmas=sigmas)
st.plotly_chart(eig_fig, key="theory-eigenvalues")
ui.explain(
    "Each mode has two eigenvalues. When they are complex their product is the determinant, "
    "so both lie on a circle of radius √(1 − η_hρσ²) whatever α is: α only **rotates** them. "
    "Rotation is oscillation in time, which is what lets the error travel as a wave; the "
    "radius below 1 is how fast each mode settles. For PC (α = 0) the eigenvalues are real: "
    "1 − η_hρσ² (pure decay, no travel) and 1 (the idle multiplier).",
    r"\mu_\pm = \tfrac12\operatorname{tr}M \pm \sqrt{\tfrac14(\operatorname{tr}M)^2 - \det M},"
    r"\qquad |\mu_\pm| = \sqrt{\det M} = \sqrt{1 - \eta_h\rho\sigma^2}",
)

st.subheader("Dispersion: wave against heat")
pc_disp, alm_disp, alm_alpha = theory.dispersion_pair(p)
disp_fig = figures.dispersion_plot(pc_disp, alm_disp, alpha=alm_alpha, eta=p.eta)
st.plotly_chart(disp_fig, key="theory-dispersion")
st.caption(f"Wavenumbers up to k = {pc_disp.wavenumber[-1]:.2f} rad/layer, where "
           "η_hρσ²(k) reaches 0.9; beyond it PC's factor 1 − η_hρσ² changes sign."
           + (" Your α is 0 (PC-ALM is PC): the PC-ALM curves use α = 1." if p.alpha == 0
              else ""))
ui.explain(
    "On a long chain a pattern of credit with wavenumber k (radians per layer) changes each "
    "step by the slowest eigenvalue μ(k). PC-ALM's phase grows linearly in k: every "
    "wavelength moves at the same speed √(αη_h) layers per step, so a front stays sharp and "
    "arrives at depth d after d/√(αη_h) steps (ballistic). PC has no phase at all; long "
    "wavelengths decay only as η_hρk², so credit spreads like heat over √(ρη_h t) layers "
    "(diffusive).",
    r"\sigma^2(k) = 4\sin^2\tfrac{k}{2},\qquad \arg\mu(k) \approx \sqrt{\alpha\,\eta_h}\,k"
    r"\ \ (\text{PC-ALM}),\qquad -\log|\mu(k)| \approx \eta_h\rho k^2\ \ (\text{PC})",
)

st.subheader("Downloads")
data = {"eigenvalues.csv": theory.eigenvalues_csv(sigmas, mu)}
figs = {"stability": stab_fig, "eigenvalues": eig_fig, "dispersion": disp_fig}
if exact is not None:
    data = {"exactness.csv": theory.exactness_csv(exact),
            "exactness.json": theory.exactness_json(exact, rho=rule.rho, alpha=rule.alpha),
            **data}
    figs = {"exactness": exact_fig, **figs}
ui.show_downloads(name="theory_data", files=data)
ui.show_downloads(name="theory_figures", files=ui.figure_files("theory", **figs))
ui.theory_keep_in_url()
