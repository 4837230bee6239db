"""The paper's five figures as pipeline targets and the reproduction report (docs/reproduction.md).

:mod:`.plan` expands ``config.yaml``'s ``reproduction`` section into engine runs; ``fig1`` ..
``fig5`` draw each figure from its runs; :mod:`.report` writes the report from their summaries.
"""
