"""Plain-language explanations of every technical term the lab shows, for students.

One place for the glossary, so a term reads the same on a spin box, a plot and the status bar.
"""

from __future__ import annotations

GLOSSARY: dict[str, str] = {
    # -- dataset -----------------------------------------------------------------------------
    "kind": "Which data the network learns. Toy problems are drawn from the seed; iris and "
            "digits are classic data sets; CSV reads your own file.",
    "n_samples": "How many points are drawn for a toy problem (train and test together).",
    "noise": "Standard deviation of the random jitter added to each point. More noise makes "
             "the classes overlap and the problem harder.",
    "seed": "The random seed for drawing and splitting the data. The same seed gives exactly "
            "the same data every time.",
    "test_fraction": "The share of points held back to test the network on data it never "
                     "trained on.",
    "n_classes": "Number of classes for the 'blobs' and 'clusters' problems.",
    "n_features": "Input dimension of the 'clusters' problem: 784 is the size of a 28 × 28 "
                  "image (MNIST). The first layer has this many weights per unit.",
    "n_params": "How many numbers the network learns: every weight and bias, the length of "
                "θ. The flow dθ/dt = −∇L(θ) has this many equations; its Jacobian (the "
                "Hessian) has this number squared entries.",
    "csv": "Read your own data: a UTF-8 CSV file with a header row. Every column except the "
           "target is a numeric input feature.",
    "target_column": "The column holding what the network must predict (a class label or a "
                     "number).",
    "task": "Classification predicts a label; regression predicts a number. 'auto' guesses "
            "from the target column.",
    # -- network -----------------------------------------------------------------------------
    "layers": "Hidden layers of the network, input side first: how many units each has and "
              "which activation function bends its output.",
    "activation": "The non-linear function each unit applies: tanh and sigmoid are smooth "
                  "S-curves, relu is max(0, x), softplus a smooth relu, linear none at all.",
    "loss": "What training minimises. bce: binary cross-entropy (two classes); softmax_ce: "
            "cross-entropy over several classes; mse: mean squared error (regression).",
    "output": "For the squared-error loss: a linear output unit, or a sigmoid squashing the "
              "output into (0, 1).",
    "init": "How the initial weights are drawn. Xavier/LeCun/He scale them by the layer width "
            "so signals neither vanish nor explode at the start.",
    "init_seed": "The random seed for the initial weights: Reset with the same seed starts "
                 "from exactly the same weights.",
    "l2": "Weight decay: adds l2·|θ|²/2 to the loss, pulling weights towards zero.",
    # -- solver ------------------------------------------------------------------------------
    "family": "Where the method comes from: scipy's solve_ivp classes, scipy's legacy ode "
              "integrators, SUNDIALS CVODE, or the classic fixed-step optimisers.",
    "method": "The numerical method that integrates dθ/dt = −∇L(θ). Explicit methods are "
              "cheap per step but must keep h·λmax inside their stability bound; implicit "
              "methods solve an equation each step and can take large steps on stiff problems.",
    "rtol": "Relative tolerance: the error the solver may make in each step, as a fraction of "
            "the size of the weights. 1e-4 means about 0.01 %. Smaller is more accurate and "
            "takes more, smaller steps.",
    "atol": "Absolute tolerance: the error allowed for weights that are close to zero, where a "
            "relative error means nothing. The solver keeps each step's error below "
            "atol + rtol·|θ|.",
    "first_step": "The size of the very first step h. Empty: the solver picks it itself.",
    "max_step": "The largest step h the solver may take. Empty: no limit.",
    "max_order": "The highest order the method may use. Order p means halving h cuts the "
                 "error per unit time about 2^p times. 'auto' uses the method's own maximum.",
    "jacobian": "How the implicit method gets the Jacobian of the flow (−Hessian of the loss): "
                "exact (computed analytically), fd (by finite differences, more gradient "
                "calls) or none (functional iteration, no Newton matrix). The Rosenbrock "
                "W-methods use the Gauss–Newton matrix instead: on a sample of 32 training "
                "points that doubles whenever a step fails to lower the loss "
                "(sampled-gauss-newton), or on all of them (gauss-newton).",
    "learning_rate": "The fixed step h = η of gradient descent and its cousins. Gradient "
                     "descent is stable only while η·λmax < 2.",
    "momentum": "Heavy-ball momentum β: how much of the previous step is kept. Stable while "
                "h·λ < 2(1 + β).",
    "beta1": "Adam's decay rate for the running mean of gradients.",
    "beta2": "Adam's decay rate for the running mean of squared gradients.",
    "t_end": "The ODE time at which the run ends. For gradient descent t = steps × η.",
    "target_loss": "Stop as soon as the training loss falls to this value. Empty: no target.",
    "target_accuracy": "Stop when the training accuracy reaches this fraction (0–1). Empty: "
                       "no target.",
    "target_rms": "Stop when the training RMS error falls to this value (squared-error loss "
                  "only). Empty: no target.",
    "max_wall_time": "Stop after this many seconds of computing. Empty: no limit.",
    "max_steps": "Stop after this many accepted solver steps.",
    "stiffness_every": "Measure λmax (the largest Hessian eigenvalue) every k steps; 0 turns "
                       "the stiffness probe off. Probing costs a few Hessian-vector products.",
    "metrics_every": "Measure the test loss and test accuracy every k accepted steps (1: at "
                     "every step). The training loss is always measured; a larger k makes "
                     "long runs with much test data faster.",
    "stiffness_every_dt": "Also measure λmax whenever this much ODE time t has passed since "
                          "the last measurement. Adaptive solvers take few, long steps late in "
                          "a run; this keeps λmax measured there. Empty: by steps only.",
    "stiffness_method": "How λmax and λmin are estimated, both from Hessian-vector products "
                        "and starting from the last estimate. Lanczos (the default) uses "
                        "about 8 products between measurements (20 for the first) and is "
                        "accurate to 0.1 % of the largest |λ|. Power iteration often needs "
                        "only 4–8, but up to ~50 while the weights change fast, and can be "
                        "a few per cent off.",
    "stiffness_budget": "The largest share of the solver's time that measuring λmax may take: "
                        "0.1 means 10 %. When measuring costs more, due measurements are "
                        "skipped so the run is not slowed down (the λmax plot gets fewer "
                        "points). Empty or 0: no limit, every due measurement runs.",
    # -- quantities on plots -----------------------------------------------------------------
    "h": "Step size h: how far in ODE time the solver moves in one step.",
    "lambda_max": "λmax: the largest eigenvalue of the loss Hessian, the sharpest curvature "
                  "of the loss surface. Gradient descent with learning rate η is stable only "
                  "while λmax < 2/η — the 'edge of stability'.",
    "h_lambda_max": "h·λmax: step size times the sharpest curvature. An explicit method is "
                    "stable only while this stays below its stability bound; when it sits on "
                    "the bound the problem is stiff for that method.",
    "stiff": "A problem is stiff for a method when stability, not accuracy, limits its step "
             "size. Implicit (A-stable) methods do not have this limit.",
    "A-stable": "A-stable: the method is stable for every step size on decaying problems, so "
                "stiffness cannot force its steps small. BDF (order ≤ 2) and Radau are.",
    "order": "The order p of the formula in use. Variable-order methods (BDF, Adams) raise it "
             "when the solution is smooth, to take larger steps.",
    "newton_failures": "Newton failure: an implicit method solves an equation each step with "
                       "Newton's method; when that iteration does not converge the step is "
                       "retried with a smaller h (and often a fresh Jacobian).",
    "rejected": "Rejected step: the error estimate was above the tolerance, so the step was "
                "thrown away and retried smaller. Rejections cost work but no accuracy.",
    "jac_evals": "Jacobian evaluations: how often an implicit method recomputed the Hessian "
                 "(or its finite-difference approximation).",
    "lu_decomps": "LU factorisations: how often an implicit method factorised its Newton "
                  "matrix I − γhJ (expensive for big networks).",
    "n_hvp": "Hessian-vector products H·v: what a matrix-free implicit method (CVODE with "
             "GMRES) computes instead of the Jacobian. Each costs one to three gradients and "
             "needs no P × P matrix, so networks of 10⁵ parameters fit in memory.",
    "n_grad": "Gradient evaluations: how many times the solver computed ∇L — the honest "
              "measure of its work, comparable across all methods.",
    "n_grad_fd": "Of the gradient evaluations, those spent building finite-difference "
                 "Jacobians (P + 1 or P per Jacobian) or difference-quotient products, not on "
                 "steps: what an exact Jacobian saves.",
    "x_axis": "What the horizontal axis of every plot measures: ODE time t, accepted solver "
              "steps, gradient evaluations (work) or wall-clock seconds.",
}


def tip(key: str) -> str:
    """The glossary text for ``key`` (empty when there is none)."""
    return GLOSSARY.get(key, "")
