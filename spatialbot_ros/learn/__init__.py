"""Training applications for the learned policy: expert demonstrations, teleop-assisted collection,
DAgger, the network and its training. Run-time features live beside the ONNX backend in policy/."""
