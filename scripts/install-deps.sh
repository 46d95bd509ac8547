#!/bin/sh
# Placeholder: replaced by the foundation's real install script.
exit 0
