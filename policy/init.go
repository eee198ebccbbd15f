package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Init is how an MLP's layers are initialised (YAML key model.init).
type Init string

// The supported initialisations. The zero value is InitOrthogonal.
const (
	// InitOrthogonal is CleanRL's layer_init and SB3's ortho_init:
	// orthogonal weights with gain √2 on hidden layers and the head's
	// OutputGain on the output layer, zero biases.
	InitOrthogonal Init = "orthogonal"
	// InitTorchDefault is what a torch.nn.Linear starts with when nothing
	// re-initialises it, as SB3's DQN QNetwork and CleanRL's dqn.py
	// QNetwork do: kaiming_uniform_(a=√5) weights, which is
	// U(−1/√fan_in, 1/√fan_in), and biases U(−1/√fan_in, 1/√fan_in).
	// OutputGain does not apply.
	InitTorchDefault Init = "torch_default"
	// InitGymnaxBlines is what gymnax-blines' flax MLPs (utils/models.py,
	// CategoricalSeparateMLP) start with: flax.linen.Dense's default
	// kernel init, LeCun normal (a normal truncated to ±2σ, rescaled so
	// its standard deviation is 1/√fan_in), on every layer including the
	// heads, and biases U[0, 0.05). OutputGain does not apply.
	InitGymnaxBlines Init = "gymnax_blines"
)

// Validate reports an unknown initialisation; "" is InitOrthogonal.
func (i Init) Validate() error {
	switch i {
	case "", InitOrthogonal, InitTorchDefault, InitGymnaxBlines:
		return nil
	}
	return fmt.Errorf("unknown init %q (want orthogonal, torch_default or gymnax_blines)", i)
}

// torchDefault returns an in×out weight matrix and its out biases drawn as
// torch.nn.Linear(in, out).reset_parameters does: every value uniform in
// ±1/√in (kaiming_uniform_ with a = √5 gives the bound
// √(6/((1+a²)·fan_in)) = 1/√fan_in). Weights are drawn in [in, out]
// row-major order (rlgo's layout), then the biases.
func torchDefault(in, out int, rng *rand.Rand) (w, b []float32) {
	bound := 1 / math.Sqrt(float64(in))
	u := func() float32 { return float32((2*rng.Float64() - 1) * bound) }
	w = make([]float32, in*out)
	for i := range w {
		w[i] = u()
	}
	b = make([]float32, out)
	for i := range b {
		b[i] = u()
	}
	return w, b
}

// truncNormStd is the standard deviation of a standard normal truncated
// to [-2, 2]; flax's variance_scaling divides by it so that the truncated
// draws have the variance asked for.
const truncNormStd = 0.87962566103423978

// gymnaxBlines returns an in×out weight matrix and its out biases drawn as
// gymnax-blines' flax Dense layers: weights LeCun normal (flax's
// variance_scaling(1, "fan_in", "truncated_normal"): a standard normal
// truncated to ±2, times √(1/in)/truncNormStd) and biases U[0, 0.05)
// (its default_mlp_init). Weights are drawn in [in, out] row-major order,
// then the biases.
func gymnaxBlines(in, out int, rng *rand.Rand) (w, b []float32) {
	std := math.Sqrt(1/float64(in)) / truncNormStd
	w = make([]float32, in*out)
	for i := range w {
		x := rng.NormFloat64()
		for math.Abs(x) > 2 {
			x = rng.NormFloat64()
		}
		w[i] = float32(x * std)
	}
	b = make([]float32, out)
	for i := range b {
		b[i] = float32(0.05 * rng.Float64())
	}
	return w, b
}
