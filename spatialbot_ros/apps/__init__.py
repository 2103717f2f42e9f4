"""Applications above the executive and the simulated world: one episode, evaluation, the demo,
spatial QA and its answerers, the held-out suite, the scripted operator, calibration, the policy
server, SimplerEnv. They may import every floor below them (test/test_import_contract.py); only
training (learn/), the nodes and the command line import them."""
