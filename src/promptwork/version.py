"""The package version (a module of its own: lower layers read it without importing the
package facade, which would make an import cycle)."""

__version__ = "0.1.0"
