"""dcgan-lab's launcher for ``hydra/launcher=ray`` (Hydra loads launchers from this
namespace only)."""
