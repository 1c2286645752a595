#include "ganpp/core/config.h"
#include "ganpp/data/dataset.h"
#include "ganpp/losses/loss.h"
#include "ganpp/models/gan.h"
#include "ganpp/train/task.h"

namespace ganpp {
namespace {

Schema build_schema() {
  using T = ValueType;
  Schema s;
  s.add("seed", T::Int, "0", "seed for initialisation, noise, data order and augmentation (same seed = same run)");
  s.add("threads", T::Int, "0", "torch CPU threads; 0 = all cores").min = 0;
  s.add("device", T::String, "cpu", "compute device: cpu, cuda or cuda:N (CUDA needs a libtorch built with it)");
  s.add("task", T::String, "gan", "what one D and one G phase compute").dynamic = [] { return TaskRegistry::instance().names(); };

  s.add("data.dataset", T::String, "fashion-mnist", "dataset").dynamic = [] { return DatasetRegistry::instance().names(); };
  s.add("data.path", T::String, "", "dataset folder or file (fashion-mnist: defaults to Debian's install path)");
  s.add("data.labels", T::String, "", "idx dataset: IDX label file (optional)");
  s.add("data.split", T::String, "train", "train or test split (IDX datasets)").choices = {"train", "test"};
  s.add("data.resolution", T::Int, "32", "square image size the model works at").min = 4;
  s.add("data.channels", T::Int, "0", "image-folder: 1 = grayscale, 3 = RGB, 0 = as the first image").max = 3;
  s.key_range("data.channels", 0, 3);
  s.add("data.fit", T::String, "resize", "IDX images whose size differs from data.resolution: pad (centred) or resize")
      .choices = {"pad", "resize"};
  s.add("data.image_size", T::Int, "0", "image-folder: short side after resizing, before cropping (0 = data.resolution)").min = 0;
  s.add("data.crop", T::String, "center", "image-folder: center crop once, or a random crop per sample").choices = {"center", "random"};
  s.add("data.limit", T::Int, "0", "use only the first N samples (0 = all)").min = 0;
  s.add("data.balance_classes", T::Bool, "false", "labelled data: each epoch draws every class equally often (small classes repeat)");
  s.add("data.crops_per_image", T::Int, "1", "image-folder with data.crop=random: random crops per image and epoch (photo patches)").min = 1;
  s.key_range("data.hflip", 0, 1, s.add("data.hflip", T::Float, "0", "probability of a random horizontal flip"));
  s.key_range("data.rotate", 0, 1, s.add("data.rotate", T::Float, "0", "probability of a random rotation"));
  s.key_range("data.rotate_degrees", 0, 180, s.add("data.rotate_degrees", T::Float, "10", "maximum rotation angle (degrees)"));
  s.key_range("data.translate", 0, 1, s.add("data.translate", T::Float, "0", "probability of a random translation (pad + crop)"));
  s.key_range("data.translate_frac", 0, 0.5, s.add("data.translate_frac", T::Float, "0.125", "maximum shift as a fraction of the size"));
  s.key_range("data.prefetch", 0, 64, s.add("data.prefetch", T::Int, "2", "batches prepared ahead on a background thread (0 = inline)"));
  s.add("data.layout", T::String, "ring", "mixture2d: ring, grid, ring:N:RADIUS:SIGMA or grid:K:SPACING:SIGMA");
  s.add("data.samples", T::Int, "100000", "mixture2d/gaussian: number of training samples").min = 1;
  s.add("data.mean", T::Float, "0", "gaussian: mean");
  s.add("data.std", T::Float, "1", "gaussian: standard deviation").min = 0;
  s.add("data.dim", T::Int, "1", "gaussian: dimension").min = 1;

  s.add("model.name", T::String, "dcgan", "model family").dynamic = [] { return ModelRegistry::instance().names(); };
  s.add("model.z_dim", T::Int, "100", "noise dimension").min = 1;
  s.add("model.z_dist", T::String, "normal", "noise distribution: normal N(0, I) or uniform U(-1, 1)^z_dim").choices = {"normal", "uniform"};
  s.add("model.g_channels", T::Int, "64", "dcgan: generator width (channels of the last hidden layer); resnet: channels of every block").min = 1;
  s.add("model.d_channels", T::Int, "64", "dcgan: discriminator width (channels of the first layer); resnet: channels of every block").min = 1;
  s.add("model.channels_last", T::Bool, "false", "convolution weights and images in channels-last layout (oneDNN / cuDNN native)");
  s.add("model.depth", T::Int, "0", "dcgan: extra 3x3 stride-1 conv blocks in G and D (0 = classic DCGAN)").min = 0;
  s.add("model.d_batchnorm", T::Bool, "true", "dcgan: batch norm in D's hidden layers");
  s.add("model.spectral_norm", T::String, "none", "spectral normalisation of conv/linear layers in D, G or both")
      .choices = {"none", "d", "g", "both"};
  s.add("model.conv_transpose", T::String, "auto",
        "dcgan: how G's transposed convolutions run: onednn (as oneDNN's conv backward-data, fast on CPU), native "
        "(torch::conv_transpose2d, on CPU torch 1.13's im2col path), auto (onednn for layers of >= 8 output channels)")
      .choices = {"auto", "onednn", "native"};
  s.add("model.mbstd_group", T::Int, "0", "minibatch standard deviation layer in D's last block, group size (0 = off)").min = 0;
  s.add("model.conditional", T::String, "none",
        "class-conditional GAN (needs labelled data): G gets class-conditional batch norm (mlp: a one-hot input), D a "
        "projection term or an AC-GAN auxiliary classifier").choices = {"none", "projection", "acgan"};
  s.add("model.attention", T::Int, "0",
        "resnet: self-attention block (SAGAN) where G's and D's feature maps have this resolution (0 = none)").min = 0;
  s.add("model.grow_steps", T::Int, "2000",
        "progan: G steps of each fade-in and of each stabilisation phase (4x4 first, then fade-in + stabilise per level)").min = 1;
  s.add("model.hidden", T::Int, "128", "mlp: hidden units per layer").min = 1;
  s.add("model.layers", T::Int, "3", "mlp: hidden layers in G and in D").min = 1;
  s.add("model.fused_mlp", T::Bool, "true",
        "mlp: run G and D each as one autograd node (the same products, a hand-written backward; fewer per-step "
        "costs); false: layer by layer");

  s.add("loss.name", T::String, "ns", "adversarial loss").dynamic = [] { return LossRegistry::instance().names(); };
  s.add("loss.gp", T::Float, "0", "gradient penalty weight on real/fake interpolates (WGAN-GP; wgan-gp defaults to 10)").min = 0;
  s.add("loss.gp_center", T::Float, "1", "target gradient norm of the gradient penalty").min = 0;
  s.add("loss.gp_steps", T::Int, "0",
        "anneal the gradient-penalty weight linearly to 0 over this many steps (0 = constant): a smooth D early, "
        "for mode coverage, and a sharp one late")
      .min = 0;
  s.add("loss.r1", T::Float, "0", "R1 penalty gamma: (gamma/2) E||grad D(real)||^2").min = 0;
  s.add("loss.r2", T::Float, "0", "R2 penalty gamma: (gamma/2) E||grad D(fake)||^2").min = 0;
  s.add("loss.reg_every", T::Int, "1", "lazy regularisation: apply R1/R2 every k D steps, scaled by k").min = 1;
  s.add("loss.drift", T::Float, "0", "drift penalty epsilon * E[D(real)^2] (ProGAN uses 0.001)").min = 0;
  s.add("loss.clip", T::Float, "0", "WGAN weight clipping: clamp D's weights to [-c, c] after each step (0 = off)").min = 0;
  s.add("loss.acgan_weight", T::Float, "1", "model.conditional=acgan: weight of the class cross-entropy in D's and G's losses").min = 0;
  s.add("loss.acgan_fake", T::Bool, "false",
        "model.conditional=acgan: D's classifier also learns the requested labels of fakes (the original AC-GAN; it "
        "lets G and D agree on class codes the images do not show)");
  s.key_range("loss.label_smoothing", 0, 0.5,
              s.add("loss.label_smoothing", T::Float, "0", "one-sided label smoothing: real target 1 - s (likelihood losses)"));
  s.add("loss.instance_noise", T::Float, "0", "std of Gaussian noise added to D's inputs (real and fake)").min = 0;
  s.add("loss.instance_noise_steps", T::Int, "0", "anneal instance noise linearly to 0 over this many steps (0 = constant)").min = 0;

  s.add("augment.policy", T::String, "", "differentiable augmentation of D's inputs: comma list of color, translation, cutout, flip");
  s.key_range("augment.p", 0, 1, s.add("augment.p", T::Float, "1", "probability per op and sample (the start value with ADA)"));
  s.add("augment.ada", T::Bool, "false", "adapt augment.p with ADA's overfitting heuristic r_t = E[sign(D(real))]");
  s.key_range("augment.ada_target", 0, 1, s.add("augment.ada_target", T::Float, "0.6", "ADA target for r_t"));
  s.add("augment.ada_interval", T::Int, "4", "ADA: D steps between p updates").min = 1;
  s.add("augment.ada_kimg", T::Float, "100", "ADA: thousands of images for p to move by 1").min = 0.001;

  s.add("train.batch_size", T::Int, "64", "mini-batch size").min = 1;
  s.add("train.max_steps", T::Int, "20000", "stop after this many G steps (a step = n_critic D updates + 1 G update)").min = 0;
  s.add("train.max_minutes", T::Float, "0", "stop after this much wall time in one invocation (0 = no limit)").min = 0;
  s.add("train.n_critic", T::Int, "1", "D updates per G update").min = 1;
  s.add("train.pack", T::Int, "1", "PacGAN: D judges packs of m samples concatenated along channels").min = 1;
  s.add("train.on_divergence", T::String, "stop",
        "NaN/Inf in a loss: 'stop' with a message, or 'rollback' to the last checkpoint with the learning rates "
        "multiplied by train.rollback_lr_scale (logged as an event in metrics.jsonl)").choices = {"stop", "rollback"};
  s.key_range("train.rollback_lr_scale", 1e-6, 1, s.add("train.rollback_lr_scale", T::Float, "0.5",
      "learning-rate multiplier applied at each rollback (cumulative, kept in checkpoints)"));
  s.add("train.max_rollbacks", T::Int, "3", "rollbacks allowed in one run before training stops").min = 0;
  s.add("train.fuse_d", T::Bool, "false", "D scores the real and the fake batch in one pass (D without batch norm, minibatch stddev or spectral norm)");
  s.add("train.amp", T::String, "none", "mixed precision of the forward passes: none, bf16 (CPU and CUDA) or fp16 (CUDA, loss-scaled)").choices = {"none", "bf16", "fp16"};
  s.key_range("train.bucket_mb", 1e-6, 1024, s.add("train.bucket_mb", T::Float, "1",
      "data-parallel: gradient all-reduce bucket size in MiB (buckets start while backward runs)"));
  s.add("train.reuse_fake", T::Bool, "true", "with n_critic=1, the G update reuses the D update's fake batch (one G forward per step)");

  s.add("optim.g_lr", T::Float, "0.0002", "Adam learning rate of G").min = 0;
  s.add("optim.d_lr", T::Float, "0.0002", "Adam learning rate of D").min = 0;
  s.key_range("optim.beta1", 0, 0.999999, s.add("optim.beta1", T::Float, "0.5", "Adam beta1"));
  s.key_range("optim.beta2", 0, 0.999999, s.add("optim.beta2", T::Float, "0.999", "Adam beta2"));
  s.add("optim.eps", T::Float, "1e-08", "Adam epsilon").min = 0;
  s.add("optim.flat", T::String, "auto",
        "Adam over one flat buffer per network (a few ops per step instead of ~10 per parameter): auto (on, except "
        "for progressive models), true or false")
      .choices = {"auto", "true", "false"};
  s.key_range("optim.decay_start", 0, 1, s.add("optim.decay_start", T::Float, "1",
      "fraction of train.max_steps after which both learning rates decay linearly to optim.decay_to x their value (1 = no decay)"));
  s.key_range("optim.decay_to", 0, 1, s.add("optim.decay_to", T::Float, "0", "final learning-rate factor of the linear decay"));
  s.add("optim.clip_grad_norm", T::Float, "0", "clip each network's gradient norm to this value (0 = off)").min = 0;

  s.add("ema.enabled", T::Bool, "false", "keep an exponential moving average of G's weights, used for samples");
  s.key_range("ema.decay", 0, 1, s.add("ema.decay", T::Float, "0.999", "EMA decay per step"));
  s.add("ema.start", T::Int, "0", "step from which the EMA averages (before it, it copies G)").min = 0;

  s.add("eval.every", T::Int, "0", "steps between metric evaluations of the (EMA) generator (0 = off)").min = 0;
  s.add("eval.features", T::String, "fashion", "feature network (see `ganpp eval --features`)");
  s.add("eval.metrics", T::String, "fid,kid,pr,dc", "metrics computed during training (fid,kid,is,pr,dc)");
  s.add("eval.n", T::Int, "2000", "generated and real samples per evaluation").min = 10;
  s.add("eval.best", T::String, "fid", "metric that selects checkpoints/best.ckpt (\"\" = none)");
  s.add("log.every", T::Int, "50", "steps between metrics.jsonl lines and progress updates").min = 1;
  s.add("log.sample_every", T::Int, "500", "steps between sample grids and plot refreshes (0 = only at the end)").min = 0;
  s.add("log.checkpoint_every", T::Int, "1000", "steps between checkpoints (0 = only at the end)").min = 0;
  s.add("log.keep_checkpoints", T::Int, "3", "checkpoints kept in the run folder (oldest deleted)").min = 1;
  s.add("log.layer_grad_norms", T::Bool, "false", "also log each parameter's gradient norm");
  s.key_range("log.vanish_threshold", 0, 1, s.add("log.vanish_threshold", T::Float, "0.05",
      "warn of vanishing gradients when G's gradient norm falls below this fraction of its peak while D is confident"));
  s.add("log.collapse_threshold", T::Float, "0.25", "warn of mode collapse when fake/real sample diversity falls below this").min = 0;
  s.add("log.warn_after", T::Int, "500", "no diagnostic warnings before this step (early G is expected to be poor)").min = 0;
  s.add("log.samples", T::Int, "64", "images in each sample grid (vector data: points, at least 1000 are drawn)").min = 1;
  return s;
}

}  // namespace

const Schema& default_schema() {
  static const Schema s = build_schema();
  return s;
}

}  // namespace ganpp
