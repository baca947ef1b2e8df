"""Keep, inspect and deploy trained models (issue 19).

``hybridqnn.deploy.graph`` describes the network as it runs at inference (an op chain with
float or bit-packed low-bit weights), ``hybridqnn.deploy.reference`` runs it in pure NumPy and
``hybridqnn.deploy.onnx_export`` converts it to ONNX. Importing this package imports nothing
else, so that the NumPy reference never pulls in torch.
"""
